"""Every shortcut gives exactly what the full path it skips would give (property tests).

The performance work added fast paths in parse, validate, phone and cleaning that must never change
a result. In parse, validate and phone the slow path is a named function in its module
(`check_event_shape_by_walking`, `_is_web_url_by_urlsplit`, `phone._e164`), so these tests compare
against the code that really runs when the shortcut does not apply, not a copy. (cleaning's
shortcuts are checked against a per-character reading of the rule.)
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata

import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capi_relay import cleaning, phone
from capi_relay import parse as P
from capi_relay.model import RelayConfig
from capi_relay.validate import _is_web_url, _is_web_url_by_urlsplit

# --- parse: the type-based shape check agrees with the full walk ------------------------------------
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=7), inner, max_size=3),
    max_leaves=12,
)
USER_DATA = st.dictionaries(
    st.sampled_from(["em", "ph", "long-key", "x"]), SCALAR | st.lists(SCALAR, max_size=5) | JSON, max_size=4
)
EVENT_KEYS = st.sampled_from(
    ["event_source_url", "referrer_url", "custom_data", "user_data", "event_name", "long-key"]
)
EVENTS = st.dictionaries(EVENT_KEYS, SCALAR | JSON | USER_DATA, max_size=5) | JSON
CONFIGS = st.builds(
    RelayConfig,
    max_depth=st.integers(0, 8) | st.just(16),
    max_string=st.integers(0, 8) | st.just(2048),
    max_url=st.integers(0, 10),
    max_values=st.integers(0, 4) | st.just(100),
)


@settings(max_examples=1000, deadline=None)
@given(event=EVENTS, config=CONFIGS, wrapper_depth=st.sampled_from([0, 2]))
def test_shape_fast_path_finds_the_same_fault_as_the_full_walk(event, config, wrapper_depth):
    # Given any JSON event and any limits
    # When the shape check (fast path first) and the full walk look at it
    # Then they return the same error, or both none
    assert P.check_event_shape(event, 3, config, wrapper_depth) == P.check_event_shape_by_walking(
        event, 3, config, wrapper_depth
    )


FLAT_VALUES = SCALAR | st.lists(SCALAR, max_size=4)
OBJECTS_BELOW = st.dictionaries(
    st.sampled_from(["em", "value", "content_ids", "contents", "x"]), FLAT_VALUES | JSON
)


@settings(max_examples=1000, deadline=None)
@given(
    user_data=OBJECTS_BELOW,
    custom_data=OBJECTS_BELOW | st.none(),
    other=st.sampled_from(["app_data", "original_event_data"]),
    other_value=OBJECTS_BELOW,
    config=st.builds(RelayConfig, max_values=st.integers(1, 3), max_depth=st.sampled_from([3, 4, 16])),
    wrapper_depth=st.sampled_from([0, 2]),
)
def test_shape_fast_path_on_the_objects_of_an_ordinary_event(
    user_data, custom_data, other, other_value, config, wrapper_depth
):
    # Given an ordinary event whose user_data, custom_data and another object hold anything: flat
    # values, lists longer than max_values, nested objects (a fault in user_data only)
    event = {"event_name": "Purchase", "user_data": user_data, "custom_data": custom_data, other: other_value}
    # When the shape check (fast path first) and the full walk look at it, under tight limits
    # Then they return the same error, or both none
    assert P.check_event_shape(event, 0, config, wrapper_depth) == P.check_event_shape_by_walking(
        event, 0, config, wrapper_depth
    )


# --- validate: the http(s) URL shortcut agrees with urlsplit -------------------------------------------
URL_PREFIXES = st.sampled_from(
    ["http://", "https://", "HTTP://", "http:/", "https:///", "", " http://", "ftp://", "http://[::1]"]
)
URL_TAILS = st.text(st.sampled_from(list("/?#:@[]. \t\r\nabc0%\\\x00\x7f\u00e9\uff0f")), max_size=12)


@settings(max_examples=1000, deadline=None)
@given(prefix=URL_PREFIXES, tail=URL_TAILS)
def test_web_url_shortcut_agrees_with_urlsplit(prefix, tail):
    # Given a URL-like text, well formed or not
    url = prefix + tail
    # When the shortcut and urlsplit judge it
    # Then they agree
    assert _is_web_url(url) == _is_web_url_by_urlsplit(url)


# --- phone: the shortcuts agree with libphonenumber's parse (_e164) --------------------------------------
def _example_numbers() -> list[str]:
    """E.164 digits of libphonenumber's example numbers, every region and type, and near misses."""
    kinds = [
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.VOIP,
    ]
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.append((region.lower(), example))
    return found


EXAMPLES = _example_numbers()


def test_international_shortcut_agrees_with_libphonenumber_on_every_example_number():
    # Given every example number in international form, and the same one digit shorter or longer
    rng = random.Random(7)
    checked = 0
    for region, example in EXAMPLES:
        digits = f"{example.country_code}{phonenumbers.national_significant_number(example)}"
        for variant in (digits, digits[:-1], digits + "5", digits[:-3] + str(rng.randrange(1000))):
            for international, where in ((True, None), (True, region), (False, None)):
                # When the shortcut reads it
                fast = phone._plain_international(variant, international, where)
                # Then, whenever it answers, libphonenumber's full parse answers the same
                if fast is not None:
                    checked += 1
                    assert fast == phone._e164(variant, international, where), (variant, where)
    assert checked > 1000


def test_national_shortcut_agrees_with_libphonenumber_on_every_example_number():
    # Given every example number as dialled at home (with its trunk prefix), bare, and mutated
    rng = random.Random(7)
    checked = 0
    for region, example in EXAMPLES:
        national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
        dialled = "".join(ch for ch in national if ch.isdigit())
        bare = phonenumbers.national_significant_number(example)
        for variant in (dialled, bare, "0" + bare, dialled[:-1], dialled + str(rng.randrange(10))):
            # When the shortcut reads it in its own region and in another one
            for where in (region, rng.choice(EXAMPLES)[0]):
                fast = phone._plain_national(variant, False, where)
                # Then, whenever it answers, libphonenumber's full parse answers the same
                if fast is not None:
                    checked += 1
                    assert fast == phone._e164(variant, False, where), (variant, where)
    assert checked > 500


REGIONS = sorted(region.lower() for region in phonenumbers.SUPPORTED_REGIONS)
PREFIXES = st.sampled_from(["", "0", "00", "01", "011", "9", "44", "49", "33", "55", "1"])


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    prefix=PREFIXES,
    rest=st.text("0123456789", max_size=16),
    international=st.booleans(),
    region=st.sampled_from([None, *REGIONS]),
)
def test_phone_shortcuts_agree_with_libphonenumber_on_any_digits(prefix, rest, international, region):
    # Given any digits, international or national, with or without a region
    digits = prefix + rest
    # When each shortcut reads them
    for fast in (
        phone._plain_international(digits, international, region),
        phone._plain_national(digits, international, region),
    ):
        # Then, whenever one answers, libphonenumber's full parse answers the same
        if fast is not None:
            assert fast == phone._e164(digits, international, region), (digits, international, region)


# --- phone, second edition: what around the digits may change, and what may not ---------------------------
NUMBER_TEXT = st.text(st.sampled_from(list("0123456789 -().")), min_size=1, max_size=18)
# letters, but no `x`: a word of them never forms an extension mark (x, ext, extension)
WORDS = st.text(st.sampled_from(list("abcdefghilmnoptuvwyzéü電ß")), min_size=1, max_size=8)
SOME_REGIONS = st.sampled_from([None, "us", "ca", "gb", "de", "fr", "it", "in", "br", "jp", "au"])


@settings(max_examples=300, deadline=None)
@given(
    plus=st.sampled_from(["", "+"]),
    number=NUMBER_TEXT,
    before=WORDS,
    after=WORDS,
    left=st.sampled_from([" ", ": ", " (", "\t", "? "]),
    right=st.sampled_from([" ", ") ", "! ", ", ", "\t"]),
    region=SOME_REGIONS,
)
def test_words_around_a_number_and_a_tel_scheme_change_nothing(
    plus, number, before, after, left, right, region
):
    # Given a number as typed, then the same with words around it, and with a tel: scheme
    text = plus + number
    alone = phone._parse(text, region)
    # When each is read
    # Then each gives what the number alone gives
    assert phone._parse(f"{before}{left}{text}{right}{after}", region) == alone
    assert phone._parse("tel:" + text, region) == alone


@settings(max_examples=300, deadline=None)
@given(
    number=st.from_regex(r"\+?[0-9 ().-]{0,16}[0-9]", fullmatch=True),
    before=st.sampled_from(["", " ", ",", ";", " , ", "; "]),
    mark=st.sampled_from(["x", "ext", "ext.", "ext=", "extension", "#"]),
    gap=st.sampled_from(["", " "]),
    extension=st.text("0123456789", min_size=1, max_size=7),
    tail=st.sampled_from(["", " ", "!", " (office)", " - ask for Bob"]),
    region=SOME_REGIONS,
)
def test_an_extension_after_the_digits_changes_nothing(number, before, mark, gap, extension, tail, region):
    # Given a number ending in a digit, then the same with an extension (and maybe a note) after it
    # When both are read
    # Then the extension is not part of the number
    typed = f"{number}{before}{mark}{gap}{extension}{tail}"
    assert phone._parse(typed, region) == phone._parse(number, region), typed


@settings(max_examples=300, deadline=None)
@given(
    head=st.from_regex(r"\+?[0-9 ().-]{0,10}[0-9]", fullmatch=True),
    joint=st.sampled_from(["", "-", ".", "/", "\u2212"]),
    letters=WORDS,
    tail=st.from_regex(r"[0-9][0-9 ().-]{0,10}", fullmatch=True) | st.just(""),
    region=SOME_REGIONS,
)
def test_a_letter_inside_or_joined_to_the_digits_always_rejects(head, joint, letters, tail, region):
    # Given letters between digits, or joined to the last digit by a dot, slash or dash
    # When read
    # Then the value is ph_invalid, whatever the region
    assert phone._parse(f"{head}{joint}{letters}{tail}", region) == phone._INVALID


# The rule book's extension as one pattern: cubic in a run of spaces, so the code finds the spaces, `,`
# or `;` before the mark by hand; on short texts the pattern is quick enough to pin that walk.
_EXTENSION_BY_THE_BOOK = re.compile(r"\s*[,;]?\s*(?P<mark>extension|ext[.=]?|x|#)\s*[0-9]{1,7}(?=[^0-9]*$)")


def _without_extension_by_the_book(s: str) -> str:
    found = _EXTENSION_BY_THE_BOOK.search(s)
    if found is None:
        return s
    mark = found.start("mark")
    if mark and s[mark - 1].isalpha():
        return s
    return s[: found.start()] + s[found.end() :]


@settings(max_examples=2000, deadline=None)
@given(s=st.text(st.sampled_from(list(" \t,;x#e1t.=anio5(")), max_size=20))
def test_extension_removal_agrees_with_the_rule_books_pattern(s):
    # Given any short text of extension marks, separators, letters and digits
    # When the extension is removed by the code's linear walk and by the rule book's pattern
    # Then both leave the same text
    assert phone._without_extension(s) == _without_extension_by_the_book(s)


NATIONAL = st.from_regex(r"[1-9][0-9]{0,14}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(zeros=st.integers(2, 6), rest=NATIONAL)
def test_a_run_of_leading_zeros_without_a_region_reads_the_rest_with_its_country_code(zeros, rest):
    # Given two or more zeros, then digits, and no region
    # When read
    read = phone._parse("0" * zeros + rest, None)
    # Then it is the rest as an international number, kept only when no digit of it is dropped
    international = phone._parse("+" + rest, None)
    assert read == (international if international == rest else phone._INVALID)


@settings(max_examples=300, deadline=None)
@given(prefix=st.sampled_from(["", "00", "011", "000"]), rest=NATIONAL)
def test_without_a_region_the_hashed_digits_are_exactly_the_digits_given(prefix, rest):
    # Given digits, after a dialling-abroad prefix or not, and no region
    # When read
    read = phone._parse(prefix + rest, None)
    # Then they are kept digit for digit, or rejected
    assert read in (rest, phone._INVALID)


@settings(max_examples=300, deadline=None)
@given(rest=st.from_regex(r"(?:[2-9]|1[02-9])[0-9]{0,14}", fullmatch=True))
def test_without_a_region_a_single_trunk_zero_is_never_read(rest):
    # Given one leading 0 (not 00, not 011) and no region
    # When read
    # Then there is no region to read it in
    assert phone._parse("0" + rest, None) == phone._NO_REGION


# --- cleaning: the letters-only shortcuts agree with the per-character filters --------------------------
_INVISIBLE_MARKERS = {chr(c) for c in range(0xFE00, 0xFE10)} | {chr(c) for c in range(0xE0100, 0xE01F0)}
_INVISIBLE_MARKERS |= {"\u200c", "\u200d"}


def _base_is_letter(s: str, index: int) -> bool:
    """The rule book's words: the nearest character before s[index] that is neither a combining mark
    nor a variation selector / ZWJ / ZWNJ is a letter (L*)."""
    for ch in reversed(s[:index]):
        if unicodedata.category(ch)[0] == "M" or ch in _INVISIBLE_MARKERS:
            continue
        return unicodedata.category(ch)[0] == "L"
    return False


def _by_the_book(s: str, *, digits: bool) -> str:
    kept = []
    for index, ch in enumerate(s):
        category = unicodedata.category(ch)
        letter_or_digit = category[0] == "L" or (digits and category == "Nd")
        mark_of_a_letter = category[0] == "M" and ch not in _INVISIBLE_MARKERS and _base_is_letter(s, index)
        if letter_or_digit or mark_of_a_letter:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


NAMES = st.text(
    st.sampled_from(list("aZ 9-'.é\u0301\u0308\u20e3ü李²Ⅷß٠_\t\u200b\u200c\u200d\ufe0f\ufe0e\u2764😀"))
    | st.sampled_from(["\U000e0100", "\U0001f3fb", "\u0345", "\u0903"])
    | st.characters(),
    max_size=12,
)


@settings(max_examples=2000, deadline=None)
@given(raw=NAMES)
def test_name_and_city_shortcuts_keep_exactly_the_same_characters(raw):
    # Given any text, ASCII or not: emoji with variation selectors, lone marks, joiners; cleaned (1.2)
    s = cleaning.clean(raw)
    # When the shortcuts and the rule book's per-character reading clean it
    # Then they keep the same characters
    assert cleaning.keep_letters_marks_digits(s) == _by_the_book(s, digits=True)
    assert cleaning.keep_letters_marks(s) == _by_the_book(s, digits=False)
    assert cleaning.remove_spaces(raw) == cleaning.inner_space().sub("", raw)


@settings(max_examples=1000, deadline=None)
@given(s=st.text(st.sampled_from(list("azAZ09 -'.\t_")) | st.characters(max_codepoint=127), max_size=10))
def test_an_ascii_name_already_alphanumeric_is_kept_as_the_substitution_keeps_it(s):
    # Given ASCII text, cleaned or not (upper case, digits only, empty)
    # Then the shortcut that skips the substitution keeps what the substitution keeps
    assert cleaning.keep_letters_marks_digits(s) == re.sub("[^a-z0-9]+", "", s)


# --- cleaning: the lookup key reads `&` as `and` only between words -------------------------------------
def _ampersands_by_the_book(s: str) -> str:
    """Each `&` as ` and ` when a letter stands somewhere before it and somewhere after it, else nothing."""
    out = []
    for index, ch in enumerate(s):
        if ch != "&":
            out.append(ch)
        elif any(c.isalpha() for c in s[:index]) and any(c.isalpha() for c in s[index + 1 :]):
            out.append(" and ")
    return "".join(out)


KEYS = st.text(st.sampled_from(list("&& -.,!@#$%^*()1aZéΩ")) | st.characters(), max_size=14)


@settings(max_examples=1000, deadline=None)
@given(s=KEYS)
def test_lookup_key_reads_ampersand_as_and_only_between_words(s):
    # Given any text with ampersands in any place
    # When the lookup key is made, and made again from the text with each & replaced by the book
    # Then both keys are the same; ampersands at the edges change nothing
    assert cleaning.fold_key(s) == cleaning.fold_key(_ampersands_by_the_book(s))
    assert cleaning.fold_key("&" + s + "&") == cleaning.fold_key(s)


# --- hashing: CPython's built-in SHA-256 gives hashlib's (OpenSSL's) digest ------------------------------
@settings(max_examples=1000, deadline=None)
@given(s=st.text())
def test_sha256_hex_is_hashlibs_digest_of_the_utf8_text(s):
    # Given any text (any code point a JSON string can carry, surrogates aside)
    # When it is hashed with the SHA-256 the relay picked (the built-in one where it exists)
    # Then the hex digest is hashlib's, lower-case
    from capi_relay.hashing import sha256_hex

    assert sha256_hex(s) == hashlib.sha256(s.encode("utf-8")).hexdigest()


# --- validate: the plainly-valid shortcut never passes what the full checks refuse ----------------------
NOW = 1_800_000_000
_ANY = SCALAR | st.lists(SCALAR, max_size=2) | st.dictionaries(st.text(max_size=3), SCALAR, max_size=2)
_VALID_EVENT = {
    "event_name": "Purchase",
    "event_time": NOW - 5,
    "event_id": "order-1",
    "action_source": "website",
    "event_source_url": "https://shop.example.com/checkout",
    "user_data": {"em": "a" * 64, "client_user_agent": "Mozilla/5.0", "client_ip_address": "203.0.113.7"},
    "custom_data": {"value": 19.99, "currency": "EUR"},
}
_MISSING = object()  # the field left out
# each field: values either side of every rule, and anything at all (not user_data/custom_data, whose
# type parsing and normalization guarantee: an object, or null for custom_data)
_VARIANTS = {
    "event_name": st.sampled_from(["PageView", "purchase", "Custom", "", " Purchase", _MISSING]) | _ANY,
    "event_time": st.sampled_from([NOW, NOW + 1, NOW - 7 * 86400, NOW - 7 * 86400 - 1, 0, -1, True])
    | st.integers()
    | _ANY,
    "event_id": st.sampled_from([_MISSING, None, "", 7]) | _ANY,
    "action_source": st.sampled_from(["app", "physical_store", "Website", _MISSING]) | _ANY,
    "event_source_url": st.sampled_from(
        ["ftp://x", "", "https://", "http://[::1]/", "shop.example", _MISSING]
    )
    | _ANY,
    "user_data": st.sampled_from(
        [{}, {"client_user_agent": "Mozilla/5.0"}, {"em": "a" * 64}, {"em": "", "client_user_agent": "UA"}]
    )
    | st.dictionaries(st.sampled_from(["em", "fbp", "client_user_agent", "client_ip_address", "x"]), _ANY),
    "custom_data": st.sampled_from([None, {}, {"value": 1}, {"currency": "USD"}, {"value": True}])
    | st.dictionaries(st.sampled_from(["value", "currency", "content_ids"]), _ANY),
    "opt_out": st.booleans() | _ANY,
    "data_processing_options": st.just(["LDU"]) | _ANY,
}


@st.composite
def _validated_events(draw):
    """A valid website purchase with one to three fields changed, removed or added."""
    event = dict(_VALID_EVENT)
    for name in draw(st.lists(st.sampled_from(sorted(_VARIANTS)), min_size=1, max_size=3, unique=True)):
        value = draw(_VARIANTS[name])
        if value is _MISSING:
            event.pop(name, None)
        else:
            event[name] = value
    return event


VALIDATED_EVENTS = _validated_events()


@settings(max_examples=3000, deadline=None)
@given(event=VALIDATED_EVENTS)
def test_validate_shortcut_passes_only_what_the_full_checks_pass(event):
    # Given any event, plausible or not (wrong types, old times, custom names, odd money)
    # When the shortcut says it is plainly valid
    # Then the full checks find nothing either; and validate_event says what the full checks say
    from capi_relay import validate as V

    full = V.validate_event_in_full(event, 0, NOW)
    if V._is_plainly_valid(event, NOW):
        assert full == []
    assert V.validate_event(event, 0, NOW) == full


def test_validate_shortcut_takes_the_event_a_website_sends():
    # Given the event the browser snippet sends for a purchase, enriched and hashed
    # When it is validated
    # Then the shortcut takes it (a shortcut no event takes would be dead code)
    from capi_relay import validate as V

    event = dict(_VALID_EVENT)
    assert V._is_plainly_valid(event, NOW)
    assert V.validate_event(event, 0, NOW) == []
