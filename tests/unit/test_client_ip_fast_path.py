"""The IPv4 shortcut of is_ip_address says yes only where ipaddress says yes (property test)."""

import importlib.util
import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

spec = importlib.util.spec_from_file_location("proposed_client_ip", "/tmp/perf/proposed/client_ip.py")
client_ip = importlib.util.module_from_spec(spec)
spec.loader.exec_module(client_ip)


def reference(text: str) -> bool:
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
    | st.sampled_from(["", "00", "01", "٣", "1\n"])
)
dotted = st.lists(octet, min_size=1, max_size=6).map(".".join)


@settings(max_examples=2000, deadline=None)
@given(
    text=dotted
    | st.ip_addresses().map(str)
    | st.text(st.sampled_from(list("0123456789.:abcdefABCDEF%\n ")), max_size=20)
)
def test_shortcut_agrees_with_ipaddress(text):
    assert client_ip.is_ip_address(text) == reference(text)
