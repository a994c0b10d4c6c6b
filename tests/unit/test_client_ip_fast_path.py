"""The shipped IPv4 and IPv6 shortcuts of `is_ip_address` say yes exactly where the full check does
(property tests)."""

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from capi_relay import client_ip


def by_the_standard_library(text: str) -> bool:
    """What the module promises, spelled with ipaddress.ip_address (no zone, at most 45 characters)."""
    if not text or len(text) > 45 or "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


octet = (
    st.integers(0, 300).map(str)
    | st.text("0123456789", max_size=4)
    | st.sampled_from(["", "00", "01", "٣", "1\n", "+1", " 1", "1_0"])
)
dotted = st.lists(octet, min_size=1, max_size=6).map(".".join)
hextet = st.text("0123456789abcdefABCDEFg٣", max_size=5)
colon_groups = st.lists(hextet, min_size=1, max_size=10).map(":".join)  # "" groups make "::", ":::"
good_hextets = st.lists(st.text("0123456789abcdefABCDEF", min_size=1, max_size=4), max_size=9)
compressed = st.tuples(good_hextets, good_hextets).map(lambda t: ":".join(t[0]) + "::" + ":".join(t[1]))
ADDRESS_LIKE = (
    dotted
    | colon_groups
    | compressed
    | good_hextets.map(":".join)
    | st.ip_addresses().map(str)
    | st.ip_addresses(v=6).map(lambda a: f"{a}%eth0")
    | st.text(st.sampled_from(list("0123456789.:abcdefABCDEF%\n ")), max_size=20)
)


@settings(max_examples=2000, deadline=None)
@given(text=ADDRESS_LIKE)
def test_ip_shortcuts_agree_with_the_full_check(text):
    # Given any address-like text: well formed, near misses, scoped IPv6, garbage
    # When the shipped check (shortcut first) and its full path without the shortcut judge it
    # Then they agree
    assert client_ip.is_ip_address(text) == client_ip.is_ip_address_by_ipaddress(text)


@settings(max_examples=2000, deadline=None)
@given(text=ADDRESS_LIKE)
def test_is_ip_address_agrees_with_the_standard_library(text):
    # Given the same texts
    # When the shipped check and ipaddress.ip_address judge them
    # Then they agree: no address Meta takes is refused, nothing else passes
    assert client_ip.is_ip_address(text) == by_the_standard_library(text)


def test_the_shortcut_is_taken_and_the_full_check_still_decides_the_rest():
    # Given texts on each side of the shortcut
    # When each is checked
    # Then a plain IPv4 passes, IPv6 passes through the full check, and near misses fail
    assert client_ip.is_ip_address("203.0.113.7")
    assert client_ip.is_ip_address("2001:db8::1")
    assert not client_ip.is_ip_address("203.0.113.07")  # a leading zero: ipaddress refuses it
    assert not client_ip.is_ip_address("fe80::1%eth0")
    assert not client_ip.is_ip_address("256.1.1.1")
