"""fbp and fbc: Meta's browser and click cookies, checked by shape and sent exactly as given."""

from __future__ import annotations

import re

# fb.{subdomain index}.{creation time, ms}.{payload}[.{language token or 8-character suffix}]
_SUFFIX = r"(?:\.(?:AQ|Ag|Aw|BA|BQ|Bg|[A-Za-z0-9_-]{8}))?"
_FBP = re.compile(rf"fb\.[0-9]{{1,2}}\.[0-9]{{13}}\.[0-9]{{1,20}}{_SUFFIX}")
_FBC = re.compile(rf"fb\.[0-9]{{1,2}}\.[0-9]{{13}}\.[A-Za-z0-9_-]+{_SUFFIX}")
_FBCLID = re.compile(r"[A-Za-z0-9_-]+")


def is_fbp(s: str) -> bool:
    """True for a `_fbp` browser id: `fb.1.1596403881668.1116446470`."""
    return _FBP.fullmatch(s) is not None


def is_fbc(s: str) -> bool:
    """True for a `_fbc` click id: `fb.1.1554763741205.IwAR2F4-dbP0…`."""
    return _FBC.fullmatch(s) is not None


def build_fbc(event_time_s: int, fbclid: str) -> str | None:
    """`fb.1.{event time in ms}.{fbclid}` from a `fbclid` query parameter; None if it cannot be an fbc."""
    if not isinstance(fbclid, str) or _FBCLID.fullmatch(fbclid) is None:
        return None
    if isinstance(event_time_s, bool) or not isinstance(event_time_s, int | float):
        return None
    milliseconds = str(int(event_time_s) * 1000)
    return f"fb.1.{milliseconds}.{fbclid}" if len(milliseconds) == 13 else None
