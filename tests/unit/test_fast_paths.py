"""Every shortcut gives exactly what the full path it skips would give (property tests).

The performance work added fast paths in parse, validate, phone and cleaning that must never change
a result. In parse, validate and phone the slow path is a named function in its module
(`check_event_shape_by_walking`, `_is_web_url_by_urlsplit`, `phone._e164`), so these tests compare
against the code that really runs when the shortcut does not apply, not a copy. (cleaning's
shortcuts are checked against a per-character reading of the rule.)
"""

from __future__ import annotations

import random
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


# --- cleaning: the letters-only shortcuts agree with the per-character filters --------------------------
def _letters_marks_digits(s: str) -> str:
    if s.isascii():
        return cleaning._NOT_AZ09.sub("", s)
    kept = "".join(ch for ch in s if cleaning._is_letter_mark_or_digit(ch))
    return unicodedata.normalize("NFC", kept)


def _letters_marks(s: str) -> str:
    if s.isascii():
        return cleaning._NOT_AZ.sub("", s)
    kept = "".join(ch for ch in s if unicodedata.category(ch)[0] in "LM")
    return unicodedata.normalize("NFC", kept)


NAMES = st.text(st.sampled_from(list("aZ 9-'.é\u0301ü李²Ⅷß٠_\t\u200b")) | st.characters(), max_size=12)


@settings(max_examples=1000, deadline=None)
@given(s=NAMES)
def test_name_and_city_shortcuts_keep_exactly_the_same_characters(s):
    # Given any text, ASCII or not
    # When the shortcuts and the per-character filters clean it
    # Then they keep the same characters
    assert cleaning.keep_letters_marks_digits(s) == _letters_marks_digits(s)
    assert cleaning.keep_letters_marks(s) == _letters_marks(s)
    assert cleaning.remove_spaces(s) == cleaning._INNER_SPACE.sub("", s)
