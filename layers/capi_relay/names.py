"""fn, ln and ge: personal names without punctuation, gender as one letter."""

from __future__ import annotations

from capi_relay.cleaning import keep_letters, keep_letters_marks_digits

# Meta's Parameter Builder's gender words, less its jokes (`god`, `queen`…) and ambiguous words
# (`count`, `fellow`…); plurals are not people (NORMALIZATION.md §2 ge).
_MALE = (
    "m male man boy masculine gentleman sir mister mr he him his himself guy lad chap bloke dude son"
    " father dad daddy papa uncle nephew brother husband boyfriend groom widower"
)
_FEMALE = (
    "f female woman girl feminine lady madam maam miss ms mrs she her hers herself gal lass dame maiden"
    " daughter mother mom mama mommy aunt niece sister wife girlfriend bride widow"
)
_GENDERS = {**dict.fromkeys(_MALE.split(), "m"), **dict.fromkeys(_FEMALE.split(), "f")}


def normalize_name(s: str) -> str | None:
    """Letters, combining marks and digits only, NFC; no transliteration (`josé`, `müller`, `李`)."""
    return keep_letters_marks_digits(s) or None


def normalize_gender(s: str) -> str | None:
    """`m` or `f` from the letters of the value (`MALE.` → `m`, `Mr.` → `m`, `Ma'am` → `f`), else None."""
    return _GENDERS.get(keep_letters(s))
