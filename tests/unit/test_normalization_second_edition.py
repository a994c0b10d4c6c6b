"""The second edition's rules (NORMALIZATION.md), sent the way careless integrators and attackers send them.

The vectors hold one worked case per rule; these push on each rule's edges: odd case, marks after
letters, extensions too long to be one, emoji sequences, `&` where no word stands, plurals and jokes.
"""

from __future__ import annotations

import pytest

from capi_relay.hashing import sha256_hex
from capi_relay.normalize import normalize_user_data


def one(field: str, value: object, region: str | None = None) -> tuple[object, list]:
    """The value Meta gets for one field (None when dropped) and the warnings about that field."""
    out, warnings = normalize_user_data({field: value}, default_region=region)
    return out.get(field), [w for w in warnings if w["field"] == field]


def kept(field: str, value: object, expected: str, region: str | None = None) -> None:
    assert one(field, value, region) == (sha256_hex(expected), [])


def dropped(field: str, value: object, code: str, region: str | None = None) -> None:
    assert one(field, value, region) == (None, [{"field": field, "code": code}])


# --- ph 1: tel: and extensions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "TEL:+1-650-555-1212",
        "Tel:+1 650 555 1212",
        "tel:+16505551212",
        " tEl:+1.650.555.1212 ",
        "tel: +1 6505551212",
    ],
)
def test_tel_scheme_in_any_case_is_removed(typed):
    # Given a tel: URI pasted from a link, the scheme in whatever case the integrator typed
    # When normalized without a region
    # Then Meta gets the number alone
    kept("ph", typed, "16505551212")


@pytest.mark.parametrize(
    "typed",
    [
        "+1 650 555 1212 x123",
        "+1 650 555 1212X9",
        "+1 650 555 1212 EXT 1234567",
        "+1 650 555 1212 ext.45",
        "+1 650 555 1212 Extension 45",
        "+1 650 555 1212;ext=45",
        "tel:+1-650-555-1212;EXT=45",
        "+1 650 555 1212, x 12",
        "+1 650 555 1212 #12",
        "+1 650 555 1212 ext. 45 (office)",
        "+1 650 555 1212 x45!",
    ],
)
def test_extension_forms_are_removed_with_what_follows_kept_aside(typed):
    # Given an extension in every spelling, some followed by a note
    # When normalized
    # Then the extension's digits are not read into the number
    kept("ph", typed, "16505551212")


def test_extension_mark_right_after_a_letter_is_a_word_not_an_extension():
    # Given `fax 45` and `box 12` after a number: the x ends a word
    # When normalized
    # Then the word's digits stay part of the text, so letters sit inside the number: rejected
    dropped("ph", "+1 650 555 1212 fax 45", "ph_invalid")
    dropped("ph", "+1 650 555 1212 box 12", "ph_invalid")


def test_a_fax_label_before_the_number_is_only_a_word():
    # Given `fax: ` in front of the number (no digits after the x)
    # When normalized
    # Then the label is ignored
    kept("ph", "fax: +1 650 555 1212", "16505551212")


def test_eight_digit_extension_is_no_extension_and_rejects():
    # Given an "extension" of 8 digits (more than the 7 the rule allows)
    # When normalized
    # Then it is not removed, and its x is a letter inside the number
    dropped("ph", "+1 650 555 1212 x12345678", "ph_invalid")


def test_extension_is_only_the_last_digits():
    # Given digits after the would-be extension
    # When normalized
    # Then no extension is removed: the x stays inside the number and rejects it
    dropped("ph", "+1 650 555 1212 x45 or 650 555 1213", "ph_invalid")


def test_extension_alone_is_no_phone():
    # Given only an extension
    # When normalized
    # Then no digit is left
    dropped("ph", "ext. 45", "ph_invalid")
    dropped("ph", "#1", "ph_invalid")


# --- ph 2: words around the number, letters inside it -------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "region", "digits"),
    [
        ("Call me at +1 (650) 555-1212 today!", None, "16505551212"),
        ("call me at +1 (650) 555-1212 today", "de", "16505551212"),
        ("+1 650 555 1212 (mobile)", None, "16505551212"),
        ("mobile: 0171 1234567", "de", "491711234567"),
        ("Handy 0171 1234567 (abends)", "de", "491711234567"),
        ("téléphone : 06 12 34 56 78", "fr", "33612345678"),
        ("電話 03-1234-5678", "jp", "81312345678"),
        ("my number is (650) 555-1212, thanks", "us", "16505551212"),
    ],
)
def test_words_around_the_number_are_ignored(typed, region, digits):
    # Given a number a user typed into a free-text field, with words before and after it
    # When normalized
    # Then the number alone is hashed
    kept("ph", typed, digits, region)


@pytest.mark.parametrize(
    "typed",
    [
        "1-800-FLOWERS",
        "555-CALL-NOW",
        "1-800-flowers.com",
        "65O5551212",
        "650 555 1212 or 650 555 1213",
        "650-555-1212-home",
        "650.555.1212/mob",
        "650-555-12l2",
        "650\u2212555\u2212CALL",
        "phone650 555 1212",
    ],
)
def test_letters_inside_or_joined_to_the_number_reject(typed):
    # Given vanity numbers, a letter for a digit, two numbers with a word between, words glued on
    # When normalized in the US
    # Then the value is ph_invalid, never a guessed number
    dropped("ph", typed, "ph_invalid", "us")


def test_a_plus_before_the_first_digit_counts_even_after_words():
    # Given a label, then an international number
    # When normalized in a German deployment
    # Then the + makes it international, not a German national number
    kept("ph", "Phone: +1 650 555 1212", "16505551212", "de")


# --- ph 3: runs of leading zeros ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "region", "digits"),
    [
        ("0000015551234567", None, "15551234567"),
        ("000 44 20 7946 0958", None, "442079460958"),
        ("00 00 1 650 555 1212", None, "16505551212"),
        ("0000015551234567", "us", "15551234567"),
        ("0000 33 6 12 34 56 78", "gb", "33612345678"),
    ],
)
def test_two_or_more_leading_zeros_are_a_dialling_prefix(typed, region, digits):
    # Given an international prefix typed with too many zeros
    # When normalized
    # Then the zeros go and the rest is read with its country code
    kept("ph", typed, digits, region)


@pytest.mark.parametrize("typed", ["020 7946 0958", "01(650)123-4567", "0 650 555 1212"])
def test_a_single_leading_zero_without_a_region_is_never_another_countrys_number(typed):
    # Given a trunk 0 and no region to read it in
    # When normalized
    # Then it is ph_no_region (reading it as +1… or +20… would hash someone else)
    dropped("ph", typed, "ph_no_region")


def test_a_national_number_a_region_reads_is_never_re_read_as_international():
    # Given a French mobile in a French deployment
    # When normalized
    # Then it stays the French number
    kept("ph", "0612345678", "33612345678", "fr")


def test_only_zeros_is_no_number():
    # Given zeros only
    # When normalized
    # Then nothing is left to read
    dropped("ph", "0000000", "ph_invalid")
    dropped("ph", "0000000", "ph_invalid", "us")


# --- ph 4: no region, exact digits -------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["9000000000", "0044 (0) 20 7946 0958", "00 44 0 20 7946 0958"])
def test_without_a_region_a_digit_the_parser_would_drop_rejects(typed):
    # Given digits from which libphonenumber would silently drop one
    # When normalized with no region
    # Then the value is ph_invalid, not a number nobody typed
    dropped("ph", typed, "ph_invalid")


def test_the_plus_form_keeps_the_uk_bracketed_zero_habit():
    # Given the common UK `+44 (0)` form, with a +
    # When normalized with no region
    # Then it is read (the exact-digit rule is for numbers without + and without region)
    kept("ph", "+44 (0) 20 7946 0958", "442079460958")


def test_without_a_region_an_exact_number_is_kept_digit_for_digit():
    # Given an Italian number with its leading zero after the country code, no +, no region
    # When normalized
    # Then every digit is kept
    kept("ph", "39 06 1234 5678", "390612345678")


# --- marks and invisible characters (fn, ln, ct, st, zp) ------------------------------------------------


@pytest.mark.parametrize(
    ("field", "typed", "expected"),
    [
        ("fn", "Mary ❤️", "mary"),
        ("fn", "Mary❤\ufe0f", "mary"),
        ("ln", "Smith 👍🏽", "smith"),
        ("fn", "Ann \u0301", "ann"),
        ("fn", "\u0301Ann", "ann"),
        ("fn", "Jo\u200dhn", "john"),
        ("fn", "Jo\u200chn", "john"),
        ("fn", "Zoe\u0308", "zoë"),
        ("fn", "Zoe\u200d\u0308", "zoë"),
        ("fn", "Zoe\ufe0f\u0308", "zoë"),
        ("fn", "e\ufe0e", "e"),
        ("fn", "Agent 1\ufe0f\u20e3", "agent1"),
        ("fn", "👨\u200d👩\u200d👧 Family", "family"),
        ("ln", "O'\u0301Brien", "obrien"),
        ("fn", "Ana\U000e0100", "ana"),
        ("ct", "Paris ❤️", "paris"),
        ("ct", "Paris 🇫🇷", "paris"),
        ("ct", "Köln \u0308", "köln"),
        ("ct", "4\u0308ville", "ville"),
        ("st", "Bayern ❤️", "bayern"),
        ("zp", "75001\u0301", "75001"),
        ("zp", "sw1a\ufe0f 1aa", "sw1a1aa"),
    ],
)
def test_emoji_tails_joiners_and_lone_marks_are_removed(field, typed, expected):
    # Given a value with an emoji's variation selector, a joiner, or a mark with no letter under it
    # When normalized (st and zp in Germany, so that the compact form is used)
    # Then only what a person sees as the letters and digits is hashed
    kept(field, typed, expected, "de" if field in ("st", "zp") else None)


@pytest.mark.parametrize(
    ("field", "code"), [("fn", "fn_invalid"), ("ct", "ct_invalid"), ("ln", "ln_invalid")]
)
def test_a_value_of_only_marks_and_selectors_is_empty(field, code):
    # Given only a lone combining mark, selectors and joiners
    # When normalized
    # Then nothing is left: the field's invalid warning
    dropped(field, "\u0301\ufe0f\u200d\u20e3", code)


def test_a_name_with_and_without_the_emoji_hash_alike():
    # Given the same first name with and without a heart emoji (what a Pixel sends from the page)
    # When both are normalized
    # Then Meta gets one hash
    assert one("fn", "Mary ❤️")[0] == one("fn", "mary")[0]


# --- country: & ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["!@#$%^&*()", "&", "&&&", " & ", "&-&", "12&34"])
def test_ampersand_without_words_around_it_is_no_country(typed):
    # Given `&` with no letter on one or both sides
    # When normalized
    # Then it is country_unknown, never Andorra (AND)
    dropped("country", typed, "country_unknown")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Trinidad & Tobago", "tt"),
        ("Trinidad&Tobago", "tt"),
        ("& Trinidad & Tobago &", "tt"),
        ("Antigua & Barbuda", "ag"),
        ("Bosnia & Herzegovina", "ba"),
        ("St Kitts & Nevis", "kn"),
        ("AND", "ad"),
        ("Andorra", "ad"),
    ],
)
def test_ampersand_between_words_reads_as_and(typed, code):
    # Given & between words, or around them at the edges
    # When normalized
    # Then the country it names; Andorra still by its own names
    kept("country", typed, code)


@pytest.mark.parametrize("typed", ["Icel&", "Engl&", "&orra", "Irel&"])
def test_ampersand_at_an_edge_is_not_the_end_of_a_word(typed):
    # Given a & standing for the last or first letters of a name (a joke, or a broken encoding)
    # When normalized
    # Then no country is guessed from it
    dropped("country", typed, "country_unknown")


def test_ampersand_at_an_edge_is_no_us_state():
    # Given `Maryl&` in the US
    # When normalized
    # Then it is not Maryland
    dropped("st", "Maryl&", "st_invalid", "us")


# --- ge: the Parameter Builder's words --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Mr.", "m"),
        ("MR", "m"),
        ("mister", "m"),
        ("Sir", "m"),
        ("he/him", None),
        ("HIM", "m"),
        ("Gentleman", "m"),
        ("widower", "m"),
        ("Mrs.", "f"),
        ("Ms", "f"),
        ("Ma'am", "f"),
        ("MA’AM", "f"),
        ("madam", "f"),
        ("she", "f"),
        ("Lady", "f"),
        ("feminine", "f"),
        ("widow", "f"),
        ("  Miss  ", "f"),
    ],
)
def test_gender_words_titles_and_pronouns(typed, expected):
    # Given titles, pronouns and family words from the Parameter Builder's lists
    # When normalized
    # Then m or f (a pronoun pair like `he/him` is one word of letters, `hehim`: not in the list)
    if expected is None:
        dropped("ge", typed, "ge_invalid")
    else:
        kept("ge", typed, expected)


@pytest.mark.parametrize(
    "typed",
    [
        "men",
        "Ladies",
        "boys",
        "girls",
        "gentlemen",
        "they",
        "other",
        "non-binary",
        "queen",
        "King",
        "god",
        "goddess",
        "princess",
        "count",
        "countess",
        "lord",
        "fellow",
        "chick",
        "belle",
        "mr mrs",
        "m or f",
    ],
)
def test_gender_plurals_jokes_and_ambiguous_words_are_rejected(typed):
    # Given plurals, pronouns of no gender, the Parameter Builder's jokes, and two answers in one
    # When normalized
    # Then ge_invalid
    dropped("ge", typed, "ge_invalid")


# --- zp: at least 2 characters in every branch -------------------------------------------------------------


@pytest.mark.parametrize("region", [None, "gb", "de", "jp"])
@pytest.mark.parametrize("typed", ["7", "A-", " 9 ", "٣", "é", "-1-", "1\u0301"])
def test_one_character_postcode_is_rejected_everywhere(typed, region):
    # Given one letter or digit with punctuation, marks or spaces around it
    # When normalized with and without a region
    # Then zp_invalid (one character matches too many people)
    dropped("zp", typed, "zp_invalid", region)


def test_two_character_postcode_is_kept_without_a_region():
    # Given a two-character postcode typed with a hyphen
    # When normalized without a region
    # Then it is kept, compacted
    kept("zp", "D-2", "d2")
