"""`client_ip_address`: Meta refuses the whole event when it is not an IP address, so we check first.

Syntax only: any IPv4 or IPv6 address is kept as given (private, loopback and IPv4-mapped IPv6
included: Meta takes them). A scoped IPv6 address ("fe80::1%eth0") is refused: its zone is free
text that names an interface of someone's machine, not an address Meta can use.
"""

from __future__ import annotations

import ipaddress
import re

MAX_LENGTH = 45  # the longest IPv6 text form, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
# What ipaddress takes as IPv4: four 0-255 decimals, ASCII digits, no leading zeros. Most events
# carry one, and this check is ~10x cheaper than building an IPv4Address; the rest goes to ipaddress.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
# IPv6 without an embedded IPv4 part: colon-separated groups of 1 to 4 ASCII hex digits
_HEXTETS = re.compile(r"[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*")


def is_ip_address(text: str) -> bool:
    """True when the (already trimmed) text is an IPv4 or IPv6 address without a zone."""
    if _IPV4.fullmatch(text):
        return True
    if ":" in text and "." not in text and "%" not in text and len(text) <= MAX_LENGTH:
        return _is_plain_ipv6(text)  # a phone's IPv6 address, ~20x cheaper than building an IPv6Address
    return is_ip_address_by_ipaddress(text)


def _is_plain_ipv6(text: str) -> bool:
    """ipaddress's IPv6 rules for a text with no dot: eight groups, or fewer around one `::` that
    stands for at least one group."""
    head, double_colon, tail = text.partition("::")
    if not double_colon:
        return text.count(":") == 7 and _HEXTETS.fullmatch(text) is not None
    groups = 0
    for side in (head, tail):
        if side:
            if _HEXTETS.fullmatch(side) is None:  # a second `::`, a stray `:`, a long or non-hex group
                return False
            groups += side.count(":") + 1
    return groups <= 7


def is_ip_address_by_ipaddress(text: str) -> bool:
    """`is_ip_address` without its IPv4 shortcut: what the shortcut must agree with (a property test)."""
    if not text or len(text) > MAX_LENGTH or "%" in text:
        return False
    try:  # what ipaddress.ip_address tries in turn, without first failing as IPv4 on an IPv6 text
        (ipaddress.IPv6Address if ":" in text else ipaddress.IPv4Address)(text)
    except ValueError:
        return False
    return True
