"""`client_ip_address`: Meta refuses the whole event when it is not an IP address, so we check first.

Syntax only: any IPv4 or IPv6 address is kept as given (private, loopback and IPv4-mapped IPv6
included: Meta takes them). A scoped IPv6 address ("fe80::1%eth0") is refused: its zone is free
text that names an interface of someone's machine, not an address Meta can use.
"""

from __future__ import annotations

import ipaddress

MAX_LENGTH = 45  # the longest IPv6 text form, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"


def is_ip_address(text: str) -> bool:
    """True when the (already trimmed) text is an IPv4 or IPv6 address without a zone."""
    if not text or len(text) > MAX_LENGTH or "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
