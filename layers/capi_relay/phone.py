"""ph: E.164 digits with the country code, without `+`, by Google's libphonenumber rules.

`phonenumbers` is imported on first use so that `import capi_relay` stays cheap.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING

from capi_relay.cleaning import ascii_digits

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

_NOT_DIGIT = re.compile(r"[^0-9]+")
_FIRST_DIGIT = re.compile(r"[0-9]")
# What joins a number's digits to the letters of a vanity number (`1-800-FLOWERS`): dots, slashes,
# dashes (category Pd) and the minus sign; whitespace and brackets end the number instead.
_JOINERS = "./\u2212"
_ASCII_LETTER = re.compile(r"[a-z]")
# North American numbers (+1, area code 2-9): what libphonenumber gives for them, without parsing.
_NANP_WITH_1 = re.compile(r"1[2-9][0-9]{9}")
_NANP_TEN = re.compile(r"[2-9][0-9]{9}")
_NANP_REGIONS = frozenset({"us", "ca"})
_NO_REGION = "ph_no_region"
_INVALID = "ph_invalid"


def normalize_phone(s: str, region: str | None) -> str | None:
    """E.164 digits of a cleaned phone value, or None (see `rejection_code` for why)."""
    result = _parse(s, region)
    return None if result in (_NO_REGION, _INVALID) else result


def rejection_code(s: str, region: str | None) -> str:
    """Why `normalize_phone` refused `s`: `ph_no_region` (a national number, no region) or `ph_invalid`."""
    return _NO_REGION if _parse(s, region) == _NO_REGION else _INVALID


def _parse(s: str, region: str | None) -> str:
    if not s.isascii():
        s = ascii_digits(s.replace("＋", "+"))
    if s.startswith("tel:"):  # cleaned, so lowercase: `TEL:` too
        s = s[4:]
    if "x" in s or "#" in s:  # every extension mark has one (ext, extension, x, #)
        s = _without_extension(s)
    first_digit = _FIRST_DIGIT.search(s)
    if first_digit is None:
        return _INVALID
    if _has_letter(s) and _letter_in_number(s, first_digit.start()):
        return _INVALID
    international = "+" in s[: first_digit.start()]
    digits = _NOT_DIGIT.sub("", s)
    return (
        _north_american(digits, international, region)
        or _plain_international(digits, international, region)
        or _plain_national(digits, international, region)
        or _e164(digits, international, region)
    )


def _without_extension(s: str) -> str:
    """`s` less its extension, with the spaces, `,` or `;` before it; a mark right after a letter is
    a word's last letter (`fax 45`, `box 12`), not an extension."""
    extension = _extension().search(s)
    if extension is None:
        return s
    start = extension.start()
    if start and s[start - 1].isalpha():
        return s
    start = _before_separator(s, start)
    return s[:start] + s[extension.end() :]


@lru_cache(maxsize=1)
def _extension() -> re.Pattern[str]:
    r"""An extension: its mark (`x`, `ext`, `ext.`, `ext=`, `extension`, `#`), then 1 to 7 digits that are
    the value's last ones; what follows them stays (`ext. 45 (office)`). Compiled with the first number
    that has a mark (~0.3 ms a cold start spared).

    The spaces, `,` or `;` before the mark are found by hand (_without_extension): in the pattern,
    `\s*[,;]?\s*` in front made a search cubic in a run of spaces (minutes for one 2 KB value).
    """
    return re.compile(r"(?:extension|ext[.=]?|x|#)\s*[0-9]{1,7}(?=[^0-9]*$)")


def _before_separator(s: str, end: int) -> int:
    """Where the spaces, `,` or `;` (one of them, spaces around it) that end at `end` start."""
    start = end
    while start and s[start - 1].isspace():
        start -= 1
    if start and s[start - 1] in ",;":
        start -= 1
        while start and s[start - 1].isspace():
            start -= 1
    return start


def _letter_in_number(s: str, first_digit: int) -> bool:
    """Whether a letter is part of the number: between its first and last digit, or joined to them
    through letters, marks, dots, slashes or dashes (`1-800-FLOWERS`, `65O5551212`). Words apart
    from it (`Call me at …`, `(mobile)`) are not."""
    start, end = first_digit, max(s.rfind(digit) for digit in "0123456789") + 1
    while start and _joins_number(s[start - 1]):
        start -= 1
    while end < len(s) and _joins_number(s[end]):
        end += 1
    return _has_letter(s[start:end])


def _joins_number(ch: str) -> bool:
    if ch.isalpha() or ch in _JOINERS:
        return True
    category = unicodedata.category(ch)
    return category[0] == "M" or category == "Pd"


def _north_american(digits: str, international: bool, region: str | None) -> str | None:
    """The E.164 digits of a plain +1 number, as libphonenumber would give them; None for anything else."""
    if international or region in _NANP_REGIONS:
        if _NANP_WITH_1.fullmatch(digits):
            return digits
        if not international and _NANP_TEN.fullmatch(digits):
            return "1" + digits
    return None


def _plain_international(digits: str, international: bool, region: str | None) -> str | None:
    """What `_e164` gives for an international number, without parsing text; None when unsure.

    libphonenumber's parse of `+{country code}{national}` only splits off the country code, strips
    a national prefix, and keeps leading zeros (Italy). When the national part cannot start with a
    national prefix or a zero, the number is what we hold, and only its length is left to check.
    """
    if international:
        number = _without_00(digits)
    elif region is None and not digits.startswith("0"):
        number = digits  # no region: _e164 reads it as international
    else:
        return None  # a national number: the region's prefix rules apply (_plain_national)
    if not number or number[0] == "0":
        return None  # no calling code starts with 0
    phonenumbers = _phonenumbers()
    for size in range(1, min(len(number), 3) + 1):  # libphonenumber: the shortest known calling code
        calling_code = int(number[:size])
        if calling_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = number[size:]
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return None  # too short or long to parse, or Italian leading zeros: let the parser decide
    national_prefix = _national_prefix(calling_code)
    if national_prefix is None or national_prefix.match(national):
        return None  # a national prefix may be stripped (or no metadata): let the parser decide
    return number if _possible_length(calling_code, len(national)) else _INVALID


def _plain_national(digits: str, international: bool, region: str | None) -> str | None:
    """What `_e164` gives for a number in the region's national format, without parsing; None when unsure.

    libphonenumber's parse of a national number strips the region's national (trunk) prefix, such
    as the 0 of `020 7946 0958`, unless only the number with the prefix matches the region's number
    pattern. Done here in the plain case (no dialling-abroad prefix, no calling code in front, no
    prefix rewriting, the calling code's main region); otherwise the parser decides.
    """
    if international or region is None or not 2 <= len(digits) <= 20:
        return None
    rules = _national_rules(region)
    if rules is None:
        return None
    calling_code, abroad, national_prefix, rewrites, national_number = rules
    if digits.startswith(str(calling_code)) or abroad.match(digits):
        return None
    national = digits
    prefix = national_prefix.match(digits)
    if prefix is not None:
        if rewrites:
            return None
        stripped = digits[prefix.end() :]
        # libphonenumber keeps the prefix when the number matches its national pattern only with it,
        # and when what is left is not a possible length
        if national_number is None or not (
            national_number.fullmatch(digits) and not national_number.fullmatch(stripped)
        ):
            if not 2 <= len(stripped) <= 17 or not _possible_length(calling_code, len(stripped)):
                return None
            national = stripped
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return None  # Italian leading zeros, or an impossible length: the parser decides
    return f"{calling_code}{national}" if _possible_length(calling_code, len(national)) else None


@lru_cache(maxsize=256)
def _national_rules(
    region: str,
) -> tuple[int, re.Pattern[str], re.Pattern[str], bool, re.Pattern[str] | None] | None:
    """(calling code, dialling-abroad prefix, national prefix, whether the prefix is rewritten, the
    national number pattern) from libphonenumber's metadata; None unless the region is the main
    one of its calling code (the one whose lengths the possibility check reads)."""
    phonenumbers = _phonenumbers()
    calling_code = _calling_code(region)
    if not calling_code or phonenumbers.region_code_for_country_code(calling_code) != region.upper():
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
    if metadata is None:
        return None
    abroad = re.compile(metadata.international_prefix) if metadata.international_prefix else _NEVER
    prefix = metadata.national_prefix_for_parsing
    pattern = metadata.general_desc.national_number_pattern if metadata.general_desc else None
    return (
        calling_code,
        abroad,
        re.compile(prefix) if prefix else _NEVER,
        bool(metadata.national_prefix_transform_rule),
        re.compile(pattern) if pattern else None,
    )


@lru_cache(maxsize=1024)
def _possible_length(calling_code: int, length: int) -> bool:
    """Whether libphonenumber finds a national number of this length possible for the country.

    Its possibility check "only checks the length of phone numbers", so one answer per country and
    length holds for every number (and the cache holds no number).
    """
    phonenumbers = _phonenumbers()
    number = phonenumbers.PhoneNumber(country_code=calling_code, national_number=int("1" * length))
    reason = phonenumbers.is_possible_number_with_reason(number)
    return bool(reason == phonenumbers.ValidationResult.IS_POSSIBLE)


_NEVER = re.compile(r"(?!)")  # for countries without a national prefix: matches nothing


@lru_cache(maxsize=256)
def _national_prefix(calling_code: int) -> re.Pattern[str] | None:
    """The country's pattern for a national prefix (libphonenumber's metadata); None without metadata."""
    phonenumbers = _phonenumbers()
    region = phonenumbers.region_code_for_country_code(calling_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(calling_code, region)
    if metadata is None:
        return None
    pattern = metadata.national_prefix_for_parsing
    return re.compile(pattern) if pattern else _NEVER


def _has_letter(s: str) -> bool:
    if s.isascii():
        return _ASCII_LETTER.search(s) is not None
    return any(ch.isalpha() for ch in s)


def _e164(digits: str, international: bool, region: str | None) -> str:
    """E.164 digits, or one of the two rejection codes (NORMALIZATION.md §2 ph, steps 3–7)."""
    if international:
        return _possible("+" + _without_00(digits))
    calling_code = _calling_code(region) if region else 0
    if calling_code:
        return _in_region(digits, calling_code, region)
    return _without_region(digits)


def _in_region(digits: str, calling_code: int, region: str | None) -> str:
    """Step 4: with the calling code in front, as the region dials it at home, or as international."""
    if digits.startswith(str(calling_code)):
        number = _parse_or_none("+" + digits)
        if number is not None and _phonenumbers().is_valid_number(number):
            return _digits_of(number)
    national = _possible(digits, region)
    if national != _INVALID:
        return national
    international = _possible("+" + _without_00(digits))
    if international == _INVALID and digits.startswith("00"):
        return _possible("+" + digits.lstrip("0"))  # step 6: a dialling-abroad prefix typed oddly
    return international


def _without_region(digits: str) -> str:
    """Step 5: after a dialling-abroad prefix, or with the country code first; a trunk `0` needs a region."""
    if digits.startswith("00"):
        number = _exactly("+" + digits[2:])
        if number == _INVALID:
            return _exactly("+" + digits.lstrip("0"))  # step 6: `00 00 1 555…`
        return number
    if digits.startswith("011"):
        return _exactly("+" + digits[3:])
    if digits.startswith("0"):
        return _NO_REGION
    return _exactly("+" + digits)


def _exactly(text: str) -> str:
    """`_possible(text)` only when it keeps every digit given: with no region to say which digit is a
    national prefix, a dropped digit (`9000000000` → `900000000`) means a number nobody typed."""
    number = _possible(text)
    return number if number == text[1:] else _INVALID


def _without_00(digits: str) -> str:
    return digits[2:] if digits.startswith("00") else digits


def _possible(text: str, region: str | None = None) -> str:
    # Possible (a plausible length for the country), not necessarily valid: test numbers such as
    # +1 202-555-0123 must pass. A local-only length (US 555-0123) is not enough.
    phonenumbers = _phonenumbers()
    number = _parse_or_none(text, region)
    if number is None:
        return _INVALID
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return _INVALID
    return _digits_of(number)


def _parse_or_none(text: str, region: str | None = None) -> PhoneNumber | None:
    phonenumbers = _phonenumbers()
    try:
        number: PhoneNumber = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return None
    return number


def _digits_of(number: PhoneNumber) -> str:
    return f"{number.country_code}{_phonenumbers().national_significant_number(number)}"


@lru_cache(maxsize=256)
def _calling_code(region: str) -> int:
    """The region's country calling code; 0 when it has none (`aq`) or is unknown."""
    calling_code: int = _phonenumbers().country_code_for_region(region.upper())
    return calling_code


@lru_cache(maxsize=1)
def _phonenumbers() -> ModuleType:
    import phonenumbers  # lazy: keeps `import capi_relay` cheap

    return phonenumbers
