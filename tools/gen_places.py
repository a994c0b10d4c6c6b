"""Write layers/capi_relay/data/places.json: country, US and Canadian lookup tables keyed by folded names.

Source: pycountry (ISO 3166-1 and 3166-2 from Debian's iso-codes, with its translations) plus the two
hand-kept alias files next to this script. pycountry is needed here only, never at run time:
    python -m venv build/places-venv && build/places-venv/bin/pip install pycountry
    PYTHONPATH=layers build/places-venv/bin/python tools/gen_places.py
"""

from __future__ import annotations

import gettext
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pycountry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers"))
from capi_relay.cleaning import fold_key  # noqa: E402 — the same folding the lookups use

OUTPUT = ROOT / "layers" / "capi_relay" / "data" / "places.json"
COUNTRY_ALIASES = Path(__file__).with_name("country_aliases.json")
SUBDIVISION_ALIASES = Path(__file__).with_name("subdivision_aliases.json")
# Country names as shops in the largest Latin-script markets write them (`Alemania`, `Allemagne`).
TRANSLATIONS = ("de", "fr", "es", "it", "pt", "nl")


def name_forms(name: str) -> list[str]:
    """The ISO form and the ways people reorder it: `Korea, Republic of` → `Republic of Korea`."""
    forms = [name]
    if "(" in name:
        outside, _, inside = name.partition("(")
        forms += [outside.strip(), inside.rstrip(")").strip()]
    for form in list(forms):
        head, comma, tail = form.partition(", ")
        if comma:
            forms.append(f"{tail} {head}")
    for form in list(forms):
        if form.startswith("Saint "):
            forms.append("St " + form[len("Saint ") :])
    return forms


def key_of(text: str) -> str:
    # A leading `the` is optional at lookup time, so tables never store it.
    key = fold_key(text)
    return key[3:] if key.startswith("the") and len(key) > 3 else key


class Table:
    """Folded key → code; the first writer wins and every disagreement is reported."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.codes: dict[str, str] = {}
        self.weak: set[str] = set()  # keys only a translation gave
        self.dropped: set[str] = set()

    def add(self, text: str, code: str, *, weak: bool = False) -> None:
        key = key_of(text) if len(text) > 3 else fold_key(text)
        if not key or key in self.dropped:
            return
        known = self.codes.get(key)
        if known is None:
            self.codes[key] = code
            if weak:
                self.weak.add(key)
        elif known != code:
            if weak:  # a translated name that means two places is no lookup key
                if key in self.weak:
                    del self.codes[key]
                    self.dropped.add(key)
                return
            print(f"{self.label}: {text!r} is {known}, not {code}: kept {known}", file=sys.stderr)


def countries() -> dict[str, str]:
    """Folded country names and codes → ISO alpha-2; earlier sources win a clash (codes, then names)."""
    table = Table("country")
    every = sorted(pycountry.countries, key=lambda c: c.alpha_2)
    for country in every:
        table.add(country.alpha_2, country.alpha_2.lower())
    for country in every:
        table.add(country.alpha_3, country.alpha_2.lower())
    for country in every:
        for name in _english_names(country):
            for form in name_forms(name):
                table.add(form, country.alpha_2.lower())
    _add_country_aliases(table)
    for language in TRANSLATIONS:
        _add_translated_country_names(table, every, language)
    return dict(sorted(table.codes.items()))


def _english_names(country: Any) -> list[str]:
    return [
        name for name in (getattr(country, a, None) for a in ("name", "official_name", "common_name")) if name
    ]


def _add_country_aliases(table: Table) -> None:
    aliases = json.loads(COUNTRY_ALIASES.read_text(encoding="utf-8"))["aliases"]
    for code, names in sorted(aliases.items()):
        assert pycountry.countries.get(alpha_2=code.upper()), code
        for name in names:
            table.add(name, code)


def _add_translated_country_names(table: Table, every: list[Any], language: str) -> None:
    """Weak keys: a translated name that means two places is dropped, not guessed."""
    translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
    for country in every:
        for english in _english_names(country):
            for form in name_forms(translation.gettext(english)):
                table.add(form, country.alpha_2.lower(), weak=True)


def subdivisions(country_code: str, aliases: dict, translations: tuple[str, ...] = ()) -> dict:
    table = Table(country_code)
    codes = set(aliases["codes"])
    entries = sorted(pycountry.subdivisions.get(country_code=country_code.upper()), key=lambda s: s.code)
    for entry in entries:
        code = entry.code.split("-")[1].lower()
        codes.add(code)
        for form in name_forms(entry.name):
            table.add(form, code)
    for code, names in sorted(aliases["names"].items()):
        assert code in codes, code
        for name in names:
            table.add(name, code)
    for language in translations:
        translation = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=[language])
        for entry in entries:
            table.add(translation.gettext(entry.name), entry.code.split("-")[1].lower(), weak=True)
    names = {key: code for key, code in table.codes.items() if len(key) > 2}
    return {"codes": sorted(codes), "names": dict(sorted(names.items()))}


def main() -> None:
    extra = json.loads(SUBDIVISION_ALIASES.read_text(encoding="utf-8"))
    places = {
        "source": (
            f"pycountry {version('pycountry')} (ISO 3166-1, ISO 3166-2 and their translations, Debian"
            " iso-codes) + tools/country_aliases.json + tools/subdivision_aliases.json;"
            " written by tools/gen_places.py"
        ),
        "countries": countries(),
        "us": subdivisions("us", extra["us"]),
        "ca": subdivisions("ca", extra["ca"], translations=("fr",)),
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(places, ensure_ascii=False, separators=(",", ":"))
    OUTPUT.write_text(text + "\n", encoding="utf-8")
    print(f"{OUTPUT.relative_to(ROOT)}: {len(places['countries'])} country keys, {len(text)} characters")


if __name__ == "__main__":
    main()
