"""country, st and ct: ISO 3166-1 alpha-2 codes, USPS / Canada Post codes, letters-only cities.

The tables live in data/places.json (generated from pycountry by tools/gen_places.py), read once on
the first country or state lookup.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TypedDict

from capi_relay.cleaning import fold_key, keep_letters_marks, keep_letters_marks_digits

PLACES_FILE = os.path.join(os.path.dirname(__file__), "data", "places.json")
# Effective regions whose states are USPS codes (NORMALIZATION.md §2 st, zp).
US_POSTAL_AREA = frozenset({"us", "pr", "gu", "vi", "as", "mp", "um"})


def normalize_country(s: str) -> str | None:
    """The ISO alpha-2 code (lowercase) a cleaned country value names, or None."""
    key = fold_key(s)
    if key == "na" and s != "na":  # `N/A`, `n.a.`: "not available"; bare `NA` stays Namibia
        return None
    countries = _places()["countries"]
    code = countries.get(key)
    if code is None and len(key) > 3:
        if key.startswith("the"):  # `the Netherlands`
            code = countries.get(key[3:])
        elif key.endswith("the"):  # `Gambia, The`
            code = countries.get(key[:-3])
    return code


def normalize_state(s: str, region: str | None) -> str | None:
    """The state value for Meta: a USPS or Canadian code where the region uses them, else compacted."""
    places = _places()
    if region in US_POSTAL_AREA:
        return places["us_lookup"].get(fold_key(s))
    if region == "ca":
        return places["ca_lookup"].get(fold_key(s))
    if region is None:
        key = fold_key(s)
        code = places["us"]["names"].get(key) or places["ca"]["names"].get(key)
        if code is not None:
            return code
    return keep_letters_marks_digits(s) or None


def normalize_city(s: str) -> str | None:
    """Letters and combining marks only: `New York` → `newyork`, `São Paulo` → `sãopaulo`."""
    return keep_letters_marks(s) or None


class _Region(TypedDict):
    names: dict[str, str]  # folded state/province name -> code
    codes: list[str]


class _Places(TypedDict):
    """data/places.json, plus each region's lookup (names and codes alike -> code), built on load."""

    source: str
    countries: dict[str, str]
    us: _Region
    ca: _Region
    us_lookup: dict[str, str]
    ca_lookup: dict[str, str]


def _lookup(table: _Region) -> dict[str, str]:
    return {**table["names"], **{code: code for code in table["codes"]}}


@cache
def _places() -> _Places:
    import json  # lazy, with the table itself: `import capi_relay` stays cheap

    with open(PLACES_FILE, encoding="utf-8") as file:
        places: _Places = json.load(file)
    places["us_lookup"] = _lookup(places["us"])
    places["ca_lookup"] = _lookup(places["ca"])
    return places
