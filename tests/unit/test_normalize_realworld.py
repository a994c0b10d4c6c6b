"""Real-world customer information beyond the vectors: what checkout forms, CRMs and apps really send."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from capi_relay import normalize_user_data, sha256_hex
from capi_relay.birthdate import normalize_birthdate
from capi_relay.normalize import HASHED_FIELDS, PASSTHROUGH_FIELDS, build_fbc, effective_region

REPO_ROOT = Path(__file__).resolve().parents[2]
SHA = "855f96e983f1f8e8be944692b6f719fd54329826cb62e98015efee8e2e071dd4"


def one(field: str, value: object, region: str | None = None, country: object = None) -> tuple[object, list]:
    """The value Meta gets for one field (None when dropped) and the warnings about that field."""
    user_data = {field: value}
    if country is not None:
        user_data["country"] = country
    out, warnings = normalize_user_data(user_data, default_region=region)
    return out.get(field), [w for w in warnings if w["field"] == field]


def kept(field: str, value: object, expected: str, region: str | None = None, country: object = None) -> None:
    got, warnings = one(field, value, region, country)
    assert (got, warnings) == (sha256_hex(expected), [])


def dropped(field: str, value: object, code: str, region: str | None = None, country: object = None) -> None:
    got, warnings = one(field, value, region, country)
    assert (got, warnings) == (None, [{"field": field, "code": code}])


# --- ph: ~25 countries, international and national, region from the deployment or the event ----------

PHONES = [
    # (typed, where, E.164 digits): where = deployment region, or "country=<name>" for user_data.country
    ("+44 7911 123456", None, "447911123456"),
    ("07911 123456", "gb", "447911123456"),
    ("+49 151 23456789", None, "4915123456789"),
    ("0151 23456789", "de", "4915123456789"),
    ("+33 6 12 34 56 78", None, "33612345678"),
    ("+7 912 345-67-89", None, "79123456789"),
    ("8 912 345-67-89", "ru", "79123456789"),
    ("+86 138 0013 8000", None, "8613800138000"),
    ("138 0013 8000", "cn", "8613800138000"),
    ("+82 10-1234-5678", None, "821012345678"),
    ("010-1234-5678", "kr", "821012345678"),
    ("+62 812-3456-7890", None, "6281234567890"),
    ("0812-3456-7890", "id", "6281234567890"),
    ("0917 123 4567", "ph", "639171234567"),
    ("+234 803 123 4567", None, "2348031234567"),
    ("0803 123 4567", "ng", "2348031234567"),
    ("010 1234 5678", "eg", "201012345678"),
    ("050 123 4567", "sa", "966501234567"),
    ("0532 123 45 67", "tr", "905321234567"),
    ("512 345 678", "pl", "48512345678"),
    ("070-123 45 67", "se", "46701234567"),
    ("079 123 45 67", "ch", "41791234567"),
    ("0664 1234567", "at", "436641234567"),
    ("0470 12 34 56", "be", "32470123456"),
    ("912 345 678", "pt", "351912345678"),
    ("085 123 4567", "ie", "353851234567"),
    ("021 123 4567", "nz", "64211234567"),
    ("+54 9 11 1234-5678", None, "5491112345678"),
    ("011 15-1234-5678", "ar", "5491112345678"),
    ("301 2345678", "co", "573012345678"),
    ("9 1234 5678", "cl", "56912345678"),
    ("091 234 56 78", "vn", "84912345678"),
    ("081 234 5678", "th", "66812345678"),
    ("012-345 6789", "my", "60123456789"),
    ("5123 4567", "hk", "85251234567"),
    ("0912 345 678", "tw", "886912345678"),
    ("050-123-4567", "il", "972501234567"),
    ("(604) 555-0101", "ca", "16045550101"),
    ("787-555-0101", "pr", "17875550101"),
    ("07911 123456", "country=United Kingdom of Great Britain and Northern Ireland", "447911123456"),
    ("0151 23456789", "country=Deutschland", "4915123456789"),
    ("06 12 34 56 78", "country=fra", "33612345678"),
    ("(11) 91234-5678", "country=Brasil", "5511912345678"),
    ("090-1234-5678", "country=Japan", "819012345678"),
    ("8 912 345-67-89", "country=Russian Federation", "79123456789"),
    ("091 234 56 78", "country=Viet Nam", "84912345678"),
    ("0532 123 45 67", "country=Türkiye", "905321234567"),
    ("(202) 555-0123", "country=U.S.", "12025550123"),
]


@pytest.mark.parametrize(("typed", "where", "digits"), PHONES, ids=[f"{p[0]} @ {p[1]}" for p in PHONES])
def test_phone_in_national_or_international_format_is_hashed_as_e164_digits(typed, where, digits):
    # Given a phone as typed, with the region from the deployment or from the event's own country
    region, country = (
        (None, where.split("=", 1)[1]) if where and where.startswith("country=") else (where, None)
    )
    # When it is normalized
    # Then Meta gets the E.164 digits with the country code, without +
    kept("ph", typed, digits, region, country)


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("+44 20 7946 0958; ext 123", "442079460958"),
        ("202-555-0123 extension 7", "12025550123"),
        ("202 555 0123 , ext. 12", "12025550123"),
        ("(202) 555-0123 x1234567", "12025550123"),
        ("+1-202-555-0123#", "12025550123"),
    ],
)
def test_phone_extension_forms_are_removed(typed, digits):
    # Given a phone with a trailing extension in one of the spelled forms
    # When it is normalized for a US deployment
    # Then the extension is gone
    kept("ph", typed, digits, "us")


def test_phone_extension_with_a_colon_is_not_an_extension_form_and_is_rejected():
    # Given `ext:` (not one of ext / ext. / extension / x / #): letters remain
    # When normalized
    # Then ph_invalid
    dropped("ph", "(202) 555-0123 ext: 4", "ph_invalid", "us")


@pytest.mark.parametrize(
    ("typed", "region", "digits"),
    [
        ("00 1 202 555 0123", "us", "12025550123"),
        ("+001 202 555 0123", None, "12025550123"),
        ("1 202 555 0123", None, "12025550123"),
        ("+919876543210", "gb", "919876543210"),
        ("919876543210", "in", "919876543210"),
        ("9876543210", "in", "919876543210"),
        ("+1 (416) 555-0199", None, "14165550199"),
        ("1.202.555.0123", "us", "12025550123"),
        ("(202)5550123", "ca", "12025550123"),
        ("+1 800 555 0199", "de", "18005550199"),
    ],
)
def test_phone_prefix_and_region_combinations(typed, region, digits):
    # Given exit codes, country codes without +, and + numbers from another region
    # When normalized
    # Then each gives the one E.164 number
    kept("ph", typed, digits, region)


def test_phone_national_number_without_a_region_is_dropped_as_no_region():
    # Given a national number with a trunk 0 and no deployment region or country
    # When normalized
    # Then it cannot be placed: ph_no_region
    dropped("ph", "0151 23456789", "ph_no_region")


def test_phone_event_country_unknown_falls_back_to_the_deployment_region():
    # Given an event country that names nothing, beside a national GB number in a GB deployment
    # When normalized
    # Then the deployment region places the number
    kept("ph", "07911 123456", "447911123456", "gb", "Atlantis")


def test_phone_event_country_hashed_falls_back_to_the_deployment_region():
    # Given an already hashed country (its region cannot be read) and a national DE number
    # When normalized for a DE deployment
    # Then the number is placed in DE and the hashed country passes unchanged
    out, warnings = normalize_user_data({"ph": "030 901820", "country": SHA}, default_region="de")
    assert out == {"ph": sha256_hex("4930901820"), "country": SHA}
    assert warnings == []


def test_phone_list_country_uses_its_first_item_for_the_region():
    # Given a list of countries, GB first
    # When a national GB number is normalized in a US deployment
    # Then the first country decides
    kept("ph", "020 7946 0958", "442079460958", "us", ["GB", "US"])


@pytest.mark.parametrize(
    "typed",
    ["call me", "+1 (202) 555-CALL", "n/a", "000", "+999 1234 5678", "12", "+1 202 555 012", "555-0123"],
)
def test_phone_that_is_not_a_possible_number_is_rejected(typed):
    # Given words, unknown calling codes, too short or local-only numbers
    # When normalized for a US deployment
    # Then ph_invalid
    dropped("ph", typed, "ph_invalid", "us")


def test_phone_integer_with_country_code_is_accepted_without_region():
    # Given an integer phone from a JSON number
    # When normalized without any region
    # Then its digits carry the country code
    kept("ph", 447911123456, "447911123456")


def test_north_american_fast_path_agrees_with_libphonenumber():
    # Given many +1 numbers, national and international, with every area-code start
    from capi_relay import phone

    cases = []
    for area in range(200, 1000, 37):
        for line in ("5550123", "1234567", "9999999"):
            cases += [
                (f"+1{area}{line}", True, None),
                (f"{area}{line}", False, "us"),
                (f"1{area}{line}", False, "ca"),
                (f"1{area}{line}", True, "gb"),
            ]
    for text, international, region in cases:
        digits = text.lstrip("+")
        # When the shortcut and the full libphonenumber path both read them
        fast = phone._north_american(digits, international, region)
        full = phone._e164(digits, international, region)
        # Then they agree on every one
        assert fast == full, text


# --- country: many names for the same alpha-2 -------------------------------------------------------

COUNTRIES = [
    ("United Kingdom of Great Britain and Northern Ireland", "gb"),
    ("U.K.", "gb"),
    ("uk", "gb"),
    ("GBR", "gb"),
    ("Britain", "gb"),
    ("Scotland", "gb"),
    ("Wales", "gb"),
    ("Northern Ireland", "gb"),
    ("U.S.", "us"),
    ("United States", "us"),
    ("the United States", "us"),
    ("America", "us"),
    ("ＵＳＡ", "us"),
    ("Viet Nam", "vn"),
    ("Vietnam", "vn"),
    ("Việt Nam", "vn"),
    ("Russian Federation", "ru"),
    ("Russia", "ru"),
    ("Czech Republic", "cz"),
    ("Czechia", "cz"),
    ("Republic of Ireland", "ie"),
    ("Éire", "ie"),
    ("Ireland", "ie"),
    ("Turkey", "tr"),
    ("TÜRKİYE", "tr"),
    ("Ivory Coast", "ci"),
    ("Côte d’Ivoire", "ci"),
    ("South Korea", "kr"),
    ("Korea", "kr"),
    ("North Korea", "kp"),
    ("Korea, Democratic People's Republic of", "kp"),
    ("Gambia, The", "gm"),
    ("The Bahamas", "bs"),
    ("Bosnia & Herzegovina", "ba"),
    ("St. Kitts & Nevis", "kn"),
    ("Saint Lucia", "lc"),
    ("St Vincent and the Grenadines", "vc"),
    ("Hong Kong", "hk"),
    ("Macau", "mo"),
    ("Taiwan", "tw"),
    ("Deutschland", "de"),
    ("DEUTSCHLAND", "de"),
    ("deu", "de"),
    ("Allemagne", "de"),
    ("Alemania", "de"),
    ("Österreich", "at"),
    ("Schweiz", "ch"),
    ("Suisse", "ch"),
    ("België", "be"),
    ("Nederland", "nl"),
    ("Holland", "nl"),
    ("The Netherlands", "nl"),
    ("Brasil", "br"),
    ("México", "mx"),
    ("Perú", "pe"),
    ("España", "es"),
    ("Espana", "es"),
    ("Polska", "pl"),
    ("Sverige", "se"),
    ("Italia", "it"),
    ("Nippon", "jp"),
    ("Burma", "mm"),
    ("Swaziland", "sz"),
    ("Macedonia", "mk"),
    ("Cape Verde", "cv"),
    ("East Timor", "tl"),
    ("Holy See (Vatican City State)", "va"),
    ("Vatican", "va"),
    ("UAE", "ae"),
    ("KSA", "sa"),
    ("DR Congo", "cd"),
    ("Democratic Republic of the Congo", "cd"),
    ("Republic of the Congo", "cg"),
    ("Virgin Islands, U.S.", "vi"),
    ("British Virgin Islands", "vg"),
    ("Curaçao", "cw"),
    ("Réunion", "re"),
    ("Åland", "ax"),
    ("Falkland Islands (Malvinas)", "fk"),
    ("Iran", "ir"),
    ("Bolivia", "bo"),
    ("Laos", "la"),
    ("Palestine", "ps"),
    ("Namibia", "na"),
    ("NA", "na"),
    ("  Fr\u200b", "fr"),
]


@pytest.mark.parametrize(("typed", "code"), COUNTRIES, ids=[c[0] for c in COUNTRIES])
def test_country_names_codes_and_aliases_become_alpha2(typed, code):
    # Given a country as a code, an ISO name, an official name, a common or a native name
    # When normalized
    # Then Meta gets the hashed ISO alpha-2 code
    kept("country", typed, code)


@pytest.mark.parametrize(
    "typed", ["n.a", "N / A", "Na.", "none", "-", "EU", "XK", "ZZ", "ger", "Россия", "日本", "Earth", "the"]
)
def test_country_that_names_no_iso_country_is_dropped(typed):
    # Given not-available markers, non-countries, unassigned codes and non-Latin names (keys keep a-z)
    # When normalized
    # Then country_unknown
    dropped("country", typed, "country_unknown")


# --- st ------------------------------------------------------------------------------------------

STATES = [
    ("Quebec", "ca", "qc"),
    ("QUÉBEC", "ca", "qc"),
    ("Newfoundland and Labrador", "ca", "nl"),
    ("Newfoundland & Labrador", "ca", "nl"),
    ("N.L.", "ca", "nl"),
    ("Prince Edward Island", "ca", "pe"),
    ("Île-du-Prince-Édouard", "ca", "pe"),
    ("B.C.", "ca", "bc"),
    ("Colombie-Britannique", "ca", "bc"),
    ("Yukon", "ca", "yt"),
    ("North Carolina", "us", "nc"),
    ("NORTH-CAROLINA", "us", "nc"),
    ("n.c.", "us", "nc"),
    ("Washington", "us", "wa"),
    ("Washington, D.C.", "us", "dc"),
    ("D.C.", "us", "dc"),
    ("AE", "us", "ae"),
    ("Armed Forces Pacific", "us", "ap"),
    ("PW", "us", "pw"),
    ("Marshall Islands", "us", "mh"),
    ("Guam", "us", "gu"),
    ("GU", "gu", "gu"),
    ("Texas", "pr", "tx"),
    ("U.S. Virgin Islands", "us", "vi"),
    ("Hawaiʻi", "us", "hi"),
    ("  ca\u00a0", "us", "ca"),
    ("Québec", None, "qc"),
    ("Ontario", None, "on"),
    ("ON", None, "on"),
    ("New York", None, "ny"),
    ("Georgia", None, "ga"),
    ("Bavaria", "de", "bavaria"),
    ("Baden-Württemberg", "de", "badenwürttemberg"),
    ("NSW", "au", "nsw"),
    ("東京都", "jp", "東京都"),
    ("São Paulo", "br", "sãopaulo"),
    ("12", "mx", "12"),
    ("Île-de-France", None, "îledefrance"),
]


@pytest.mark.parametrize(("typed", "region", "expected"), STATES, ids=[f"{s[0]} @ {s[1]}" for s in STATES])
def test_state_is_a_postal_code_in_us_and_canada_and_compacted_elsewhere(typed, region, expected):
    # Given a state as typed and the deployment region
    # When normalized
    # Then US/CA codes and names become the two-letter code; elsewhere letters and digits are kept
    kept("st", typed, expected, region)


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("N. Carolina", "us"),
        ("Mass.", "us"),
        ("Calif", "us"),
        ("Ontario", "us"),
        ("P.E.I.", "ca"),
        ("New York", "ca"),
        ("ZZ", "ca"),
        ("...", "gb"),
        ("123", "us"),
    ],
)
def test_state_that_is_no_code_or_full_name_in_us_or_canada_is_rejected(typed, region):
    # Given abbreviations that are not postal codes, or another country's state
    # When normalized where codes are required
    # Then st_invalid
    dropped("st", typed, "st_invalid", region)


def test_state_follows_the_event_country_given_by_name():
    # Given a Canadian province beside a country written as a name, in a US deployment
    # When normalized
    # Then the event's country decides
    kept("st", "Québec", "qc", "us", "Canada")


# --- zp ------------------------------------------------------------------------------------------

POSTCODES = [
    ("94035-1234", "pr", "94035"),
    ("00901", "pr", "00901"),
    ("96910", "gu", "96910"),
    ("94035 1234", "us", "94035"),
    ("94035–1234", "us", "94035"),
    ("٩٤٠٣٥-١٢٣٤", "us", "94035"),
    ("12345-6789", None, "12345"),
    ("SW1A 1AA", None, "sw1a1aa"),
    ("sw1a-1aa", "gb", "sw1a1aa"),
    ("EC1A 1BB", "gb", "ec1a1bb"),
    ("75008", "fr", "75008"),
    ("1000-001", "pt", "1000001"),
    ("01000", "mx", "01000"),
    ("110001", "in", "110001"),
    ("2000", "au", "2000"),
    ("00-950", "pl", "00950"),
    ("123 45", "se", "12345"),
    ("D02 X285", "ie", "d02x285"),
    ("H0H 0H0", "ca", "h0h0h0"),
    ("94035", "de", "94035"),
    ("123456789", None, "123456789"),
]


@pytest.mark.parametrize(
    ("typed", "region", "expected"), POSTCODES, ids=[f"{p[0]} @ {p[1]}" for p in POSTCODES]
)
def test_postcode_is_cut_to_five_digits_in_the_us_and_compacted_elsewhere(typed, region, expected):
    # Given a postcode as typed and the deployment region
    # When normalized
    # Then US ZIPs keep 5 digits, others keep letters and digits only
    kept("zp", typed, expected, region)


@pytest.mark.parametrize(
    ("typed", "region"),
    [("9403", "us"), ("940351", "us"), ("94035-12", "us"), ("A", "gb"), ("-", None), ("K1A", "us")],
)
def test_postcode_with_the_wrong_shape_is_rejected(typed, region):
    # Given 4/6/7-digit US ZIPs, a one-character postcode, punctuation only, a Canadian code in the US
    # When normalized
    # Then zp_invalid
    dropped("zp", typed, "zp_invalid", region)


def test_zip_integer_with_its_leading_zero_lost_is_rejected_in_the_us_but_kept_elsewhere():
    # Given a ZIP that a spreadsheet turned into the integer 2139
    # When normalized in the US and in Australia
    # Then the US drops it (4 digits) while AU keeps 4-digit postcodes
    dropped("zp", 2139, "zp_invalid", "us")
    kept("zp", 2139, "2139", "au")


# --- db ------------------------------------------------------------------------------------------

DATES = [
    ("March 5th, 1990", None, "19900305"),
    ("5th March 1990", None, "19900305"),
    ("March 1st 1990", None, "19900301"),
    ("2nd Feb 1985", None, "19850202"),
    ("23rd of", None, None),
    ("1990-03-05T12:30:00.123456Z", None, "19900305"),
    ("1990-03-05T12:30", None, "19900305"),
    ("1990-03-05t12:30:00z", None, "19900305"),
    ("1990-03-05T00:00:00+05:30", None, "19900305"),
    ("1990-03-05T00:00:00-0800", None, "19900305"),
    ("1990/3/5", None, "19900305"),
    ("3.5.1990", "us", "19900503"),
    ("5. 3. 1990", None, "19900305"),
    ("3-5-1990", "gb", "19900503"),
    ("3 5 1990", "gb", "19900503"),
    ("13-5-1990", "us", "19900513"),
    ("5-13-1990", "gb", "19900513"),
    ("1990 5 13", None, "19900513"),
    ("Mar 5 1990", None, "19900305"),
    ("MARCH 5 1990", None, "19900305"),
    ("5 march, 1990", None, "19900305"),
    ("Sep 9 1975", None, "19750909"),
    ("5 1990 March", None, "19900305"),
    ("1990.03.05", None, "19900305"),
    ("03/05/1990", "ph", "19900305"),
    ("03/05/1990", "ca", "19900503"),
    ("03/05/1990", "mx", "19900503"),
    ("1/1/1900", "us", "19000101"),
    ("1990—03—05", None, "19900305"),
    ("1990−03−05", None, "19900305"),
    ("Feb 29 2000", None, "20000229"),
    ("０５/０３/１９９０", "de", "19900305"),
]


@pytest.mark.parametrize(
    ("typed", "region", "expected"), [d for d in DATES if d[2]], ids=[d[0] for d in DATES if d[2]]
)
def test_date_of_birth_in_many_formats_becomes_yyyymmdd(typed, region, expected):
    # Given a date as typed and the deployment region
    # When normalized
    # Then Meta gets YYYYMMDD
    kept("db", typed, expected, region)


@pytest.mark.parametrize(
    "typed",
    [
        "5th of March 1990",
        "March 5 90",
        "March 1990",
        "Marc 5 1990",
        "September 31 1990",
        "Feb 29 1999",
        "1990-03-05T25:30",
        "1990-03-05 12:30:00 +0200",
        "05/03/1990 00:00:00",
        "1990年3月5日",
        "³/5/1990",
        "0/5/1990",
        "1990-00-05",
        "12/31/1899",
        "March 5 1990 1990",
        "5 5 March 1990",
        "1990-03-05-07",
        "19900230",
        "1990-3",
        "yesterday",
        "1990 March 123",
    ],
)
def test_date_of_birth_that_is_not_one_accepted_form_is_rejected(typed):
    # Given two-digit years, missing parts, extra words or numbers, impossible dates, CJK date words
    # When normalized in a US deployment
    # Then db_invalid
    dropped("db", typed, "db_invalid", "us")


def test_date_of_birth_in_the_current_year_is_accepted_and_next_year_is_not():
    # Given a birthday this year and one next year (the check is on the year only)
    this_year = date.today().year
    # When read
    # Then this year passes, next year does not
    assert normalize_birthdate(f"{this_year}-01-01", None) == f"{this_year}0101"
    assert normalize_birthdate(f"{this_year + 1}-01-01", None) is None
    assert normalize_birthdate("2030-01-01", None, this_year=2030) == "20300101"


def test_date_of_birth_region_comes_from_the_event_country():
    # Given an ambiguous date beside a German country name in a US deployment
    # When normalized
    # Then it is read day first
    kept("db", "03/05/1990", "19900503", "us", "Deutschland")


# --- names, cities, gender, email ------------------------------------------------------------------

NAMES = [
    ("ISTANBUL", "istanbul"),
    ("Łukasz", "łukasz"),
    ("Ångström", "ångström"),
    ("Dvořák", "dvořák"),
    ("Nguyễn Văn", "nguyễnvăn"),
    ("José María", "josémaría"),
    ("Jean-Pierre", "jeanpierre"),
    ("Anne-Marie O'Neil", "annemarieoneil"),
    ("John Jr.", "johnjr"),
    ("徐", "徐"),
    ("김민준", "김민준"),
    ("Владимир", "владимир"),
    ("Straße", "straße"),
    ("STRASSE", "strasse"),
    ("Zoe\u0308", "zoë"),
    ("Søren", "søren"),
    ("Ōtani", "ōtani"),
    ("ʻOkalani", "ʻokalani"),
    ("John😀", "john"),
    ("Renée\u00ad", "renée"),
    # second edition: a mark belongs to the letter right before it; after a hyphen it has none
    ("e-\u0301", "e"),
    # Python lowercases İ to i + U+0307 (combining dot): a mark, so kept (spec: lowercase, no transliteration)
    ("İpek", "i\u0307pek"),
]


@pytest.mark.parametrize(("typed", "expected"), NAMES, ids=[n[0] for n in NAMES])
def test_names_keep_letters_marks_and_digits_in_every_script(typed, expected):
    # Given a first name as typed
    # When normalized
    # Then punctuation, spaces, symbols and emoji go; letters of every script and accents stay (NFC)
    kept("fn", typed, expected)


def test_last_name_of_only_emoji_and_punctuation_is_rejected():
    # Given no letter at all
    # When normalized
    # Then ln_invalid
    dropped("ln", "😀 - !", "ln_invalid")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Saint-Étienne", "saintétienne"),
        ("Winston-Salem", "winstonsalem"),
        ("St. John's", "stjohns"),
        ("Köln", "köln"),
        ("ПЕТЕРБУРГ", "петербург"),
        ("Łódź", "łódź"),
        ("Town 1", "town"),
        ("東京", "東京"),
    ],
)
def test_city_keeps_letters_and_marks_only(typed, expected):
    # Given a city as typed
    # When normalized
    # Then only letters and marks stay
    kept("ct", typed, expected)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("MALE", "m"), ("Female ", "f"), ("f.", "f"), ("Man", "m"), ("boy", "m"), ("GIRL", "f"), ("woman", "f")],
)
def test_gender_words_become_one_letter(typed, expected):
    # Given gender words
    # When normalized
    # Then m or f
    kept("ge", typed, expected)


@pytest.mark.parametrize("typed", ["other", "mf", "m/f", "u", "hombre", "männlich", "0"])
def test_gender_outside_the_list_is_rejected(typed):
    # Given values that are not one of the eight words
    # When normalized
    # Then ge_invalid
    dropped("ge", typed, "ge_invalid")


@pytest.mark.parametrize(
    "typed",
    [
        "o'brien@example.ie",
        "first_last@sub-domain.example.com",
        "a@b.co",
        "x@example.museum",
        "user@例え.jp",
        "иван@пример.рф",
        "john@xn--80ak6aa92e.com",
        "john@ex--ample.com",
        "é@example.com",
        "user+tag+more@example.com",
        "a" * 64 + "@" + "b" * 185 + ".com",
    ],
)
def test_email_addresses_of_many_shapes_are_kept_as_cleaned(typed):
    # Given valid addresses, Unicode and punycode included, and one of exactly 254 characters
    # When normalized
    # Then they are hashed as typed (lowercased)
    kept("em", typed, typed.lower())


@pytest.mark.parametrize(
    "typed",
    [
        "user@localhost",
        "user@123.123.123.123",
        "user@[127.0.0.1]",
        '"john"@example.com',
        "john.@example.com",
        ".john@example.com",
        "john@example..com",
        "john@example-.com",
        "john@ex_ample.com",
        "mailto:john@example.com",
        "john@example.com,jane@example.com",
        "john@example.xn--",
        "john@example.c0m",
        "j\u200bohn@example.com",
        "a" * 64 + "@" + "b" * 186 + ".com",
        "john@exa mple.com",
        "@example.com",
        "john@",
    ],
)
def test_email_that_is_not_an_address_is_rejected(typed):
    # Given addresses a form or CRM garbled
    # When normalized
    # Then em_invalid
    dropped("em", typed, "em_invalid")


# --- identifiers and types -------------------------------------------------------------------------


def test_external_id_loses_every_inner_space_including_invisible_ones():
    # Given an id with a no-break space and a zero-width space inside
    # When normalized
    # Then all of them are removed before hashing
    kept("external_id", "A\u00a0B\u200bC 1", "abc1")


@pytest.mark.parametrize("field", sorted(HASHED_FIELDS))
def test_sha256_hex_passes_through_unchanged_for_every_hashed_field(field):
    # Given an already hashed value, upper-cased and padded, for any hashed field
    # When normalized in a US deployment
    # Then it is sent once, lowercased, never hashed twice
    got, warnings = one(field, f"  {SHA.upper()}\n", "us")
    assert (got, warnings) == (SHA, [])


@pytest.mark.parametrize("field", sorted(HASHED_FIELDS - {"external_id"}))
def test_md5_looking_value_is_rejected_for_every_field_but_external_id(field):
    # Given 32 hex characters
    # When normalized
    # Then md5_rejected (Meta takes SHA-256 only)
    dropped(field, "D4C74594D841139328695756648B6BD6", "md5_rejected", "us")


@pytest.mark.parametrize("field", sorted(HASHED_FIELDS))
@pytest.mark.parametrize(
    "value",
    [True, False, 1.5, 94035.0, {"$ne": 1}, {}, b"bytes", object()],
    ids=["true", "false", "float", "integral-float", "object", "empty-object", "bytes", "obj"],
)
def test_wrong_type_is_dropped_for_every_hashed_field(field, value):
    # Given a bool, float, object or bytes
    # When normalized
    # Then type_invalid
    dropped(field, value, "type_invalid", "us")


@pytest.mark.parametrize("field", ["em", "fn", "ln", "ct", "st", "country", "ge"])
def test_integer_is_a_wrong_type_where_only_text_makes_sense(field):
    # Given an integer for a text-only field
    # When normalized
    # Then type_invalid
    dropped(field, 7, "type_invalid", "us")


def test_negative_integer_is_not_a_string_of_digits():
    # Given a negative integer phone / zip / date / id
    # When normalized
    # Then each is type_invalid
    for field in ("ph", "zp", "db", "external_id"):
        dropped(field, -19900305, "type_invalid", "us")


@pytest.mark.parametrize("field", ["ph", "zp", "db", "external_id"])
def test_integer_zero_is_read_as_its_digits(field):
    # Given the integer 0 (falsy, yet a value)
    got, warnings = one(field, 0, "us")
    # Then it is normalized as "0" (kept only where "0" is meaningful)
    if field == "external_id":
        assert (got, warnings) == (sha256_hex("0"), [])
    else:
        assert got is None and warnings[0]["code"].endswith("_invalid")


# --- lists -----------------------------------------------------------------------------------------


def test_list_mixes_kept_dropped_and_duplicate_items_in_first_seen_order():
    # Given emails with a duplicate in another case, an MD5, a bool, a null and a bad address
    user_data = {
        "em": ["B@x.com", "d4c74594d841139328695756648b6bd6", True, None, "b@x.com ", "nope", "a@x.com"]
    }
    # When normalized
    out, warnings = normalize_user_data(user_data)
    # Then two hashes stay in order and each dropped item has its own warning
    assert out == {"em": [sha256_hex("b@x.com"), sha256_hex("a@x.com")]}
    assert [w["code"] for w in warnings] == ["md5_rejected", "type_invalid", "em_invalid"]


def test_list_of_one_stays_a_list():
    # Given a one-item list
    out, _ = normalize_user_data({"external_id": ["ABC"]})
    # Then Meta gets a one-item list
    assert out == {"external_id": [sha256_hex("abc")]}


def test_list_dedups_a_raw_value_against_its_own_hash():
    # Given a raw email and the SHA-256 of the same email
    out, warnings = normalize_user_data(
        {"em": ["john@example.com", "855F96E983F1F8E8BE944692B6F719FD54329826CB62E98015EFEE8E2E071DD4"]}
    )
    # Then one hash remains
    assert out == {"em": [SHA]} and warnings == []


def test_phone_list_with_integers_and_strings_dedups_in_e164():
    # Given the same number as an integer and two typed forms
    out, warnings = normalize_user_data({"ph": [12025550123, "(202) 555-0123", "+1 202.555.0123"]}, "us")
    # Then one E.164 hash
    assert out == {"ph": [sha256_hex("12025550123")]} and warnings == []


def test_country_list_first_item_gives_the_region_and_every_item_is_hashed():
    # Given two countries, the first a name
    out, warnings = normalize_user_data({"country": ["Germany", "AT"], "zp": "SW1A 1AA"}, "us")
    # Then both are hashed and the region is DE (a UK postcode is compacted, not rejected as a US ZIP)
    assert out == {"country": [sha256_hex("de"), sha256_hex("at")], "zp": sha256_hex("sw1a1aa")}
    assert warnings == []


# --- never-hashed fields, unknown keys ---------------------------------------------------------------


def test_never_hashed_fields_are_sent_trimmed_and_unchanged():
    # Given every never-hashed field with surrounding whitespace (fbp, fbc and the IP in their shape)
    shaped = {"fbp", "fbc", "client_ip_address"}
    user_data = {field: f" \u200bValue-{field}\t" for field in PASSTHROUGH_FIELDS - shaped}
    user_data |= {"fbp": " fb.1.1596403881668.1116446470 ", "fbc": "fb.1.1554763741205.AbC_d-9"}
    user_data |= {"client_ip_address": " \u200b2001:DB8::A\t"}
    # When normalized
    out, warnings = normalize_user_data(user_data)
    # Then each is trimmed, never hashed, never lowercased
    assert warnings == []
    assert out["fbp"] == "fb.1.1596403881668.1116446470"
    assert out["fbc"] == "fb.1.1554763741205.AbC_d-9"
    assert out["client_ip_address"] == "2001:DB8::A"
    assert all(out[f] == f"Value-{f}" for f in PASSTHROUGH_FIELDS - shaped)


def test_numeric_meta_ids_may_be_integers():
    # Given ids Meta documents as numbers
    out, warnings = normalize_user_data({"lead_id": 1234567890123456, "fb_login_id": 42, "page_id": "987"})
    # Then they are sent as given
    assert out == {"lead_id": 1234567890123456, "fb_login_id": 42, "page_id": "987"} and warnings == []


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("client_ip_address", True, "type_invalid"),
        ("client_user_agent", 12, "type_invalid"),
        ("fbp", ["fb.1.1596403881668.1116446470"], "type_invalid"),
        ("madid", "  ", "empty"),
        ("fbp", "fb.1.1596403881668.1116446470.AQ", None),
        ("fbp", "fb.1.1596403881668.123456789012345678901", "fbp_invalid"),
        ("fbp", "fb.123.1596403881668.1116446470", "fbp_invalid"),
        ("fbc", "fb.1.1554763741205.Iw AR", "fbc_invalid"),
        ("fbc", "fb.1.1554763741205.IwAR.abcdEFGH", None),
        ("fbc", "fb.1.1554763741205.IwAR.aq", "fbc_invalid"),
        ("fbc", "FB.1.1554763741205.IwAR", "fbc_invalid"),
        ("fbc", "fb.1.1554763741205.IwAR.AQ.AQ", "fbc_invalid"),
    ],
)
def test_never_hashed_field_shapes(field, value, code):
    # Given a never-hashed value of the wrong type or shape (or a valid suffix)
    got, warnings = one(field, value)
    # Then it is dropped with its code, or sent as given
    if code is None:
        assert (got, warnings) == (value, [])
    else:
        assert (got, warnings) == (None, [{"field": field, "code": code}])


def test_unknown_keys_are_dropped_with_a_warning_that_names_only_the_key():
    # Given Meta's keys misspelled or invented, beside a valid email
    user_data = {"email": "canary-unknown@example.com", "phone": None, "em": "a@b.co"}
    # When normalized
    out, warnings = normalize_user_data(user_data)
    # Then only em survives and each unknown key has its warning
    assert out == {"em": sha256_hex("a@b.co")}
    assert warnings == [
        {"field": "email", "code": "unknown_field"},
        {"field": "phone", "code": "unknown_field"},
    ]
    assert "canary" not in repr(warnings)


def test_null_means_absent_for_every_known_field():
    # Given every known field as null
    out, warnings = normalize_user_data(dict.fromkeys(HASHED_FIELDS | PASSTHROUGH_FIELDS))
    # Then nothing is sent and nothing is warned about
    assert (out, warnings) == ({}, [])


def test_input_is_not_modified():
    # Given a caller's user_data
    user_data = {"em": [" A@x.com "], "ph": "202-555-0123", "bogus": 1}
    snapshot = json.dumps(user_data)
    # When normalized
    normalize_user_data(user_data, "us")
    # Then the caller's dict is untouched
    assert json.dumps(user_data) == snapshot


# --- privacy ---------------------------------------------------------------------------------------


def test_warnings_never_contain_the_values_they_drop():
    # Given a dropped value in every hashed field, each carrying a canary
    canary = "canary7f3a"
    user_data = {
        "em": f"{canary}@@x",
        "ph": f"{canary} 555",
        "fn": f"{canary}"[:0] + "...",
        "ln": ["-", "!"],
        "ct": "12345",
        "st": f"{canary}x",
        "zp": f"{canary}9",
        "country": canary,
        "db": f"{canary} 1990",
        "ge": canary,
        "external_id": "   ",
        "fbp": canary,
        "fbc": canary,
        "client_ip_address": {"v": canary},
        canary: canary,
    }
    # When normalized for a US deployment
    out, warnings = normalize_user_data(user_data, "us")
    # Then every value is dropped and no warning repeats a value (only the unknown key's own name)
    assert out == {}
    assert all(set(w) == {"field", "code"} for w in warnings)
    assert canary not in repr([w for w in warnings if w["code"] != "unknown_field"])
    assert len(warnings) == len(user_data) + 1  # ln has two dropped items


def test_output_holds_no_raw_value_of_a_hashed_field():
    # Given a full customer record
    user_data = {
        "em": "Jane.Doe@Example.com",
        "ph": "+44 7911 123456",
        "fn": "Jane",
        "ln": "Doe",
        "ct": "London",
        "st": "Greater London",
        "zp": "SW1A 1AA",
        "country": "United Kingdom",
        "db": "1990-03-05",
        "ge": "female",
        "external_id": "crm-77",
    }
    # When normalized
    out, warnings = normalize_user_data(user_data, "us")
    # Then every value Meta gets is the SHA-256 hex of the normalized value, never the value itself
    normalized = {
        "em": "jane.doe@example.com",
        "ph": "447911123456",
        "fn": "jane",
        "ln": "doe",
        "ct": "london",
        "st": "greaterlondon",
        "zp": "sw1a1aa",
        "country": "gb",
        "db": "19900305",
        "ge": "f",
        "external_id": "crm-77",
    }
    assert warnings == []
    assert out == {field: hashlib.sha256(text.encode()).hexdigest() for field, text in normalized.items()}
    assert all(re.fullmatch("[0-9a-f]{64}", v) for v in out.values())
    assert "jane" not in json.dumps(out).lower()


# --- helpers callers use ---------------------------------------------------------------------------


def test_effective_region_prefers_the_event_country_then_the_deployment():
    # Given events with and without a readable country
    # Then the event's country wins; a junk or absent one leaves the deployment's region
    assert effective_region({"country": "Deutschland"}, "us") == "de"
    assert effective_region({"country": [None, "fr"]}, "us") == "fr"
    assert effective_region({"country": "n/a"}, "us") == "us"
    assert effective_region({}, " GB ") == "gb"
    assert effective_region({}, "Atlantis") is None
    assert effective_region({}, None) is None


@pytest.mark.parametrize(
    ("event_time", "fbclid", "expected"),
    [
        (1700000000, "IwAR2F4-dbP0_x", "fb.1.1700000000000.IwAR2F4-dbP0_x"),
        (1700000000, "bad id", None),
        (1700000000, "", None),
        (1700000000, "a.b", None),
        (1700000000000, "IwAR", None),
        (True, "IwAR", None),
    ],
)
def test_build_fbc_from_a_click_id(event_time, fbclid, expected):
    # Given an event time in seconds and an fbclid query parameter
    # When the fbc is built
    # Then it is fb.1.{ms}.{fbclid}, or None when it could not be a valid fbc
    assert build_fbc(event_time, fbclid) == expected


def test_built_fbc_passes_the_fbc_check():
    # Given a built fbc
    fbc = build_fbc(1700000000, "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB")
    # When it goes through normalization
    out, warnings = normalize_user_data({"fbc": fbc})
    # Then it is sent as built
    assert out == {"fbc": fbc} and warnings == []


def test_importing_normalize_loads_neither_phonenumbers_nor_the_tables():
    # Given a fresh interpreter
    code = (
        "import sys, capi_relay.normalize\n"
        "from capi_relay import places\n"
        "assert 'phonenumbers' not in sys.modules, 'phonenumbers'\n"
        "assert places._places.cache_info().currsize == 0, 'tables'\n"
        "blocked = {'boto3', 'botocore', 'aws_lambda_powertools', 'relay_aws'} & set(sys.modules)\n"
        "assert not blocked, blocked\n"
    )
    # When capi_relay.normalize is imported
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(REPO_ROOT / "layers")},
        capture_output=True,
        text=True,
        check=False,
    )
    # Then neither the phone library nor the place tables were loaded
    assert result.returncode == 0, result.stderr


def test_places_table_names_its_source():
    # Given the generated table
    places = json.loads(
        (REPO_ROOT / "layers" / "capi_relay" / "data" / "places.json").read_text(encoding="utf-8")
    )
    # Then it says where it comes from and holds the three lookups
    assert "pycountry" in places["source"] and "gen_places.py" in places["source"]
    assert places["countries"]["deutschland"] == "de"
    assert places["us"]["names"]["districtofcolumbia"] == "dc"
    assert places["ca"]["names"]["quebec"] == "qc"
