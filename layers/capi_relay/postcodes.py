"""zp: US ZIP codes cut to five digits, other postcodes compacted (`SW1A 1AA` → `sw1a1aa`)."""

from __future__ import annotations

import re

from capi_relay.cleaning import ascii_digits, keep_letters_marks_digits
from capi_relay.places import US_POSTAL_AREA

_ZIP = re.compile(r"[0-9]{5}(?:[0-9]{4})?")
_ZIP_LIKE = re.compile(r"([0-9]{5})(?:\s*-\s*[0-9]{4}|\s+[0-9]{4})?")


def normalize_postcode(s: str, region: str | None) -> str | None:
    """The postcode Meta matches on for the effective region, or None."""
    s = ascii_digits(s)
    if region is None:
        zip_like = _ZIP_LIKE.fullmatch(s)
        if zip_like is not None:
            return zip_like.group(1)
    compact = keep_letters_marks_digits(s)
    if region in US_POSTAL_AREA:
        return compact[:5] if _ZIP.fullmatch(compact) else None
    return compact if len(compact) >= 2 else None  # one character matches too many people, anywhere
