"""Text helpers every field rule shares: the 1.2 clean, digit folding, category filters, lookup keys."""

from __future__ import annotations

import re
import unicodedata

# Python's own whitespace (str.isspace) plus the invisible characters forms paste in: zero-width
# space/joiners, word joiner, BOM, Mongolian vowel separator (NORMALIZATION.md 1.2).
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
INVISIBLE = _WHITESPACE + "\u180e\u200b\u200c\u200d\u2060\ufeff"
_INNER_SPACE = re.compile("[" + re.escape(INVISIBLE) + "]+")
_NOT_AZ09 = re.compile(r"[^a-z0-9]+")
_NOT_AZ = re.compile(r"[^a-z]+")
# ASCII characters outside A-Z, a-z (and 0-9): controls, spaces, punctuation, symbols (no L*, M*, Nd)
_ASCII_NOT_ALNUM = re.compile(r"[\x00-/:-@\[-`{-\x7f]+")
_ASCII_NOT_LETTER = re.compile(r"[\x00-@\[-`{-\x7f]+")

# Letters NFKD cannot take apart, folded the way people type them without the key.
_FOLD_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "þ": "th",
        "ı": "i",
        "ħ": "h",
        "ŀ": "l",
    }
)


def clean(s: str) -> str:
    """NFC, strip surrounding whitespace and invisible characters, lowercase."""
    if not s.isascii():
        s = unicodedata.normalize("NFC", s)
    return s.strip(INVISIBLE).lower()


def remove_spaces(s: str) -> str:
    """Every whitespace or invisible character removed, inside too."""
    if s.isprintable() and " " not in s:  # of INVISIBLE, only " " is printable: nothing to remove
        return s
    return _INNER_SPACE.sub("", s)


def ascii_digits(s: str) -> str:
    """Every Unicode decimal digit (category Nd: Arabic-Indic, fullwidth…) as its ASCII digit."""
    if s.isascii():
        return s
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in s)


def keep_letters_marks_digits(s: str) -> str:
    """Only Unicode letters (L*), combining marks (M*) and decimal digits (Nd), NFC; input already cleaned."""
    if s.isascii():
        return _NOT_AZ09.sub("", s)
    kept = _ASCII_NOT_ALNUM.sub("", s)  # spaces, hyphens, apostrophes: never kept, removed at C speed
    if not kept.isalpha():  # letters only (`josé`, `müller`) need no look at each character
        kept = "".join(ch for ch in kept if _is_letter_mark_or_digit(ch))
    return unicodedata.normalize("NFC", kept)


def keep_letters_marks(s: str) -> str:
    """Only Unicode letters (L*) and combining marks (M*), NFC; input already cleaned."""
    if s.isascii():
        return _NOT_AZ.sub("", s)
    kept = _ASCII_NOT_LETTER.sub("", s)
    if not kept.isalpha():  # str.isalpha: every character in L*
        kept = "".join(ch for ch in kept if unicodedata.category(ch)[0] in "LM")
    return unicodedata.normalize("NFC", kept)


def keep_letters(s: str) -> str:
    """Only Unicode letters (L*); input already cleaned."""
    if s.isascii():
        return _NOT_AZ.sub("", s)
    return "".join(ch for ch in s if ch.isalpha())


def fold_key(s: str) -> str:
    """A lookup key: `&` read as `and`, accents folded away, only a-z kept (`Côte d'Ivoire` → cotedivoire)."""
    s = s.lower()
    if "&" in s:
        s = s.replace("&", "and")
    if not s.isascii():
        s = unicodedata.normalize("NFKD", s.translate(_FOLD_LETTERS))
    return _NOT_AZ.sub("", s)


def _is_letter_mark_or_digit(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "LM" or category == "Nd"
