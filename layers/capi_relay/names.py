"""fn, ln and ge: personal names without punctuation, gender as one letter."""

from __future__ import annotations

from capi_relay.cleaning import keep_letters, keep_letters_marks_digits

_GENDERS = {"m": "m", "male": "m", "man": "m", "boy": "m", "f": "f", "female": "f", "woman": "f", "girl": "f"}


def normalize_name(s: str) -> str | None:
    """Letters, combining marks and digits only, NFC; no transliteration (`josé`, `müller`, `李`)."""
    return keep_letters_marks_digits(s) or None


def normalize_gender(s: str) -> str | None:
    """`m` or `f` from the letters of the value (`MALE.` → `m`, `Woman` → `f`), else None."""
    return _GENDERS.get(keep_letters(s))
