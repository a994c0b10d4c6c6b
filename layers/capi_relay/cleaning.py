"""Text helpers every field rule shares: the 1.2 clean, digit folding, category filters, lookup keys."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# Python's own whitespace (str.isspace) plus the invisible characters forms paste in: zero-width
# space/joiners, word joiner, BOM, Mongolian vowel separator (NORMALIZATION.md 1.2).
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
INVISIBLE = _WHITESPACE + "\u180e\u200b\u200c\u200d\u2060\ufeff"
_JOINERS = "\u200c\u200d"  # ZWNJ, ZWJ: invisible inside emoji sequences and some scripts
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
    return inner_space().sub("", s)


@cache
def inner_space() -> re.Pattern[str]:
    """A run of INVISIBLE characters; compiled with the first value that has one (~0.5 ms a cold start)."""
    return re.compile("[" + re.escape(INVISIBLE) + "]+")


def ascii_digits(s: str) -> str:
    """Every Unicode decimal digit (category Nd: Arabic-Indic, fullwidth…) as its ASCII digit."""
    if s.isascii():
        return s
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in s)


def keep_letters_marks_digits(s: str) -> str:
    """Only Unicode letters (L*), combining marks of a letter (M*) and decimal digits (Nd), NFC.

    Input already cleaned. Variation selectors and ZWJ/ZWNJ go, and so does a mark whose base is not
    a letter (`Mary ❤️` → `mary`): a Pixel hashes what the user sees, not the emoji's invisible tail.
    """
    if s.isascii():  # [a-z0-9]+ (a name as cleaned) is kept as it is, without the substitution
        return s if s.isalnum() and (s.islower() or s.isdigit()) else _NOT_AZ09.sub("", s)
    kept = _ASCII_NOT_ALNUM.sub("", s)  # spaces, hyphens, apostrophes: never kept, removed at C speed
    if kept.isalpha():  # letters only (`josé`, `müller`): no mark, no look at each character
        return unicodedata.normalize("NFC", kept)
    return unicodedata.normalize("NFC", _keep_by_category(s, keep_digits=True))


def keep_letters_marks(s: str) -> str:
    """Only Unicode letters (L*) and combining marks of a letter (M*), NFC; input already cleaned."""
    if s.isascii():
        return _NOT_AZ.sub("", s)
    kept = _ASCII_NOT_LETTER.sub("", s)
    if kept.isalpha():  # str.isalpha: every character in L*
        return unicodedata.normalize("NFC", kept)
    return unicodedata.normalize("NFC", _keep_by_category(s, keep_digits=False))


def _keep_by_category(s: str, *, keep_digits: bool) -> str:
    """Letters, (digits,) and each combining mark whose base, the nearest character before it that
    is neither a mark nor a joiner, is a letter (NORMALIZATION.md, marks and invisible characters).

    Reads the whole cleaned value: a space or an emoji removed here still ends the letter before it.
    """
    kept: list[str] = []
    after_letter = False
    for ch in s:
        category = unicodedata.category(ch)
        if category[0] == "L":
            kept.append(ch)
            after_letter = True
        elif category[0] == "M":
            if after_letter and not _is_variation_selector(ch):
                kept.append(ch)
        elif ch in _JOINERS:
            continue  # invisible: the mark after it still belongs to the letter before it
        else:
            after_letter = False
            if keep_digits and category == "Nd":
                kept.append(ch)
    return "".join(kept)


def keep_letters(s: str) -> str:
    """Only Unicode letters (L*); input already cleaned."""
    if s.isascii():
        return _NOT_AZ.sub("", s)
    return "".join(ch for ch in s if ch.isalpha())


def fold_key(s: str) -> str:
    """A lookup key: `&` between words read as `and`, accents folded away, only a-z kept.

    `Côte d'Ivoire` → `cotedivoire`, `Trinidad & Tobago` → `trinidadandtobago`.
    """
    s = s.lower()
    if "&" in s:
        s = _and_between_words(s)
    if not s.isascii():
        s = unicodedata.normalize("NFKD", s.translate(_FOLD_LETTERS))
    return _NOT_AZ.sub("", s)


def _is_variation_selector(ch: str) -> bool:
    return "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef"


def _and_between_words(s: str) -> str:
    """`&` as `and` where a letter stands before it and after it (`Trinidad&Tobago`), else dropped:
    `!@#$%^&*()` must not become `and`, Andorra's alpha-3 code, nor `Icel&` Iceland."""
    letters = [i for i, ch in enumerate(s) if ch.isalpha()]
    if not letters:
        return s.replace("&", "")
    first, last = letters[0], letters[-1]
    return s[:first].replace("&", "") + s[first:last].replace("&", "and") + s[last:].replace("&", "")
