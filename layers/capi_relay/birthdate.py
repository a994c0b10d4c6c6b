"""db: a date of birth as `YYYYMMDD` from the ways people and systems write dates."""

from __future__ import annotations

import re

from capi_relay.cleaning import ascii_digits

# Regions that write an ambiguous `A/B/YYYY` month first (NORMALIZATION.md §2 db).
MONTH_FIRST_REGIONS = frozenset({"us", "pr", "gu", "vi", "as", "mp", "um", "ph", "fm", "mh", "pw"})
FIRST_YEAR = 1900
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_ISO_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[t ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,9})?)?"
    r"(?:z|[+-]([0-9]{2}):?([0-9]{2}))?"
)
_EIGHT_DIGITS = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
# Spaces, `-`, `/`, `.`, `,`, the Unicode dashes U+2010–2014 and the minus sign U+2212.
_SEPARATORS = ",./-\u2010\u2011\u2012\u2013\u2014\u2212"
_SPLIT = re.compile(rf"([\s{re.escape(_SEPARATORS)}]+)")
_NUMBER = re.compile(r"[0-9]+")
_ORDINAL = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)")
_WORD = re.compile(r"[a-z]+")


def normalize_birthdate(s: str, region: str | None, this_year: int | None = None) -> str | None:
    """`YYYYMMDD` for a real date in 1900 … this year, or None."""
    ymd = _read(ascii_digits(s), region)
    if ymd is None:
        return None
    year, month, day = ymd
    from datetime import date  # lazy: `import capi_relay` stays cheap

    if not FIRST_YEAR <= year <= (this_year or date.today().year):
        return None
    try:
        date(year, month, day)
    except ValueError:
        return None
    return f"{year:04d}{month:02d}{day:02d}"


def _read(s: str, region: str | None) -> tuple[int, int, int] | None:
    iso = _ISO_DATE_TIME.fullmatch(s)
    if iso is not None:
        return _iso_date(iso)
    eight = _EIGHT_DIGITS.fullmatch(s)
    if eight is not None:
        return int(eight[1]), int(eight[2]), int(eight[3])
    parts = _SPLIT.split(s.strip().strip(_SEPARATORS).strip())
    tokens, separators = parts[::2], parts[1::2]
    if len(tokens) != 3:
        return None
    if all(_NUMBER.fullmatch(token) for token in tokens):
        return _three_numbers(tokens, separators, region)
    return _with_month_name(tokens)


def _iso_date(match: re.Match[str]) -> tuple[int, int, int] | None:
    hour, minute, second, offset_hours, offset_minutes = (int(g) if g else 0 for g in match.groups()[3:])
    if hour > 23 or minute > 59 or second > 60 or offset_hours > 23 or offset_minutes > 59:
        return None
    return int(match[1]), int(match[2]), int(match[3])


def _three_numbers(
    tokens: list[str], separators: list[str], region: str | None
) -> tuple[int, int, int] | None:
    first, second, third = tokens
    if len(first) == 4 and len(second) <= 2 and len(third) <= 2:  # YYYY M D
        month, day = int(second), int(third)
        if month > 12 and day <= 12:
            month, day = day, month
        return int(first), month, day
    if len(third) != 4 or len(first) > 2 or len(second) > 2:  # two-digit years and the like
        return None
    a, b = int(first), int(second)
    if a > 12 and b > 12:
        return None
    if a > 12:
        day_first = True
    elif b > 12:
        day_first = False
    elif all(separator.strip() == "." for separator in separators):
        day_first = True  # 05.03.1990: the dotted form is day first everywhere
    else:
        day_first = region is not None and region not in MONTH_FIRST_REGIONS
    return (int(third), b, a) if day_first else (int(third), a, b)


def _with_month_name(tokens: list[str]) -> tuple[int, int, int] | None:
    month = year = day = None
    for token in tokens:
        ordinal = _ORDINAL.fullmatch(token)
        if ordinal is not None:
            token = ordinal[1]
        if _NUMBER.fullmatch(token):
            if len(token) == 4 and year is None and ordinal is None:
                year = int(token)
            elif len(token) <= 2 and day is None:
                day = int(token)
            else:
                return None
        elif _WORD.fullmatch(token) and token in _MONTHS and month is None:
            month = _MONTHS[token]
        else:
            return None
    if month is None or year is None or day is None:
        return None
    return year, month, day
