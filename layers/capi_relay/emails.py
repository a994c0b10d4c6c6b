"""em: an address that looks deliverable, kept as cleaned (no dot or +tag rules)."""

from __future__ import annotations

import re
import unicodedata

_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
# Top-level label: two or more letters, or an IDNA `xn--` label.
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+(?:[a-z]{{2,}}|xn--[a-z0-9-]*[a-z0-9])")
_MAX_LENGTH = 254
_MAX_LOCAL = 64


def normalize_email(s: str) -> str | None:
    """The cleaned address if it has the shape of an email address, else None."""
    if len(s) > _MAX_LENGTH or s.find("@") > _MAX_LOCAL:
        return None
    shape = s if s.isascii() else "".join(_as_ascii_letter(ch) for ch in s)
    return s if _EMAIL.fullmatch(shape) else None


def _as_ascii_letter(ch: str) -> str:
    # Unicode letters, marks and digits count as letters (`müller@exämple.de`); anything else stays
    # as it is and fails the ASCII pattern.
    if ch.isascii():
        return ch
    category = unicodedata.category(ch)
    return "a" if category[0] in "LM" or category == "Nd" else ch
