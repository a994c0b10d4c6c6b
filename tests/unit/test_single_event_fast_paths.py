"""The single-event path's shortcuts give exactly what the work they skip would give (property tests).

Each shortcut moves request-independent work out of the request: a JSON decoder/encoder built once,
origins and page URLs parsed once (bounded caches), requests' environment lookups done once per
container. Each is checked against the slow path it replaces, on inputs an attacker could send.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import types

import orjson
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from capi_relay import auth, json_codec, meta_client, parse
from capi_relay.errors import BadRequest
from capi_relay.model import RelayConfig

# --- parse: the decoder built once reads what json.loads(..., parse_constant, parse_float) reads ----


def _slow_load(text):
    return json.loads(
        text, parse_constant=parse._reject_constant, parse_float=parse._finite, parse_int=parse._int
    )


def _outcome(load, text):
    try:
        return ("ok", json.dumps(load(text), sort_keys=True, allow_nan=True))
    except RecursionError:
        return ("error", "RecursionError")
    except ValueError as error:  # JSONDecodeError, NaN, huge numbers
        return ("error", type(error).__name__)


JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
).map(lambda value: json.dumps(value, ensure_ascii=False))


@settings(max_examples=300, deadline=None)
@given(text=JSON_TEXT)
def test_load_json_reads_what_json_loads_reads(text):
    # Given a JSON document (the body already decoded as strict UTF-8 by parse._text)
    # When both parse it / Then they agree, value or error
    assert _outcome(parse.load_json, text) == _outcome(_slow_load, text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30))
def test_load_json_fails_where_json_loads_fails(text):
    # Given text an attacker chose: lone BOMs, NaN, 1e999, truncated documents
    # When both parse it / Then both refuse (with the same error type) or both read the same value
    assert _outcome(parse.load_json, text) == _outcome(_slow_load, text)


@pytest.mark.parametrize(
    "text",
    ["NaN", "[Infinity]", "1e999", "\ufeff{}", '{"a": -Infinity}', "9" * 400, '{"v": -' + "9" * 320 + "}"],
)
def test_load_json_refuses_the_constants_and_reads_huge_integers_as_json_loads_does(text):
    assert _outcome(parse.load_json, text) == _outcome(_slow_load, text)


# --- json_codec: a busy container reads with orjson exactly what json reads ---------------------------


@contextlib.contextmanager
def busy_container(loads=None):
    """json_codec's state once a Graph writer has switched: orjson (or a spy on it) reads bodies."""
    before = json_codec._orjson
    json_codec._orjson = orjson if loads is None else types.SimpleNamespace(loads=loads)
    try:
        yield
    finally:
        json_codec._orjson = before


def _typed_value(value):
    """A value with the type of every part: 1, 1.0, True and a HugeInt all differ."""
    if isinstance(value, dict):
        return ("dict", [(key, _typed_value(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_typed_value(item) for item in value])
    return (type(value).__name__, repr(value))


def _load_outcome(body: bytes):
    """What parse makes of a body: its value with every type, or the codes of its refusal."""
    try:
        return ("ok", _typed_value(parse._load(body, RelayConfig())))
    except BadRequest as refused:
        return ("refused", [error.code for error in refused.errors])


NUMBER_TEXT = st.from_regex(r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][+-]?[0-9]{1,3})?", fullmatch=True)
BODY_TEXT = (
    JSON_TEXT
    | st.lists(NUMBER_TEXT, max_size=4).map(lambda numbers: "[" + ",".join(numbers) + "]")
    | st.builds(
        lambda key, number: f'{{"{key}": {number}, "{key}": [{number}]}}', st.text(max_size=3), NUMBER_TEXT
    )
    | st.text(max_size=30)
)


# bytes an attacker or a broken client sends: JSON with a byte changed, inserted or cut, BOMs, UTF-16,
# overlong and surrogate UTF-8 sequences, NULs
BODY_BYTES = (
    BODY_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass"))
    | st.builds(
        lambda text, at, junk: (lambda raw: raw[: at % (len(raw) + 1)] + junk + raw[at % (len(raw) + 1) :])(
            text.encode()
        ),
        JSON_TEXT,
        st.integers(min_value=0),
        st.sampled_from(
            [b"", b"\x00", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\xc0\xaf", b"\xff", b"\\ud800", b'"']
        ),
    )
    | JSON_TEXT.map(lambda text: text.encode("utf-16"))
    | st.binary(max_size=40)
)


@settings(max_examples=800, deadline=None)
@given(body=BODY_BYTES)
def test_a_busy_container_reads_what_json_reads_and_refuses_what_it_refuses(body):
    # Given any body: numbers of every size and spelling, duplicate keys, broken bytes and documents
    quiet = _load_outcome(body)
    # When a busy container reads it (orjson on the raw bytes, json wherever orjson would differ)
    with busy_container():
        busy = _load_outcome(body)
    # Then it reads the same value, with the same types, or refuses it with the same codes
    assert busy == quiet


def test_a_busy_container_reads_with_orjson_and_leaves_long_integers_to_json():
    calls = []

    def spy(text):
        calls.append(text)
        return orjson.loads(text)

    body = b'{"data": [{"event_name": "Lead", "custom_data": {"order": 12345678901234567}}]}'
    long = b'{"data": [{"event_name": "Lead", "custom_data": {"order": 1234567890123456789012}}]}'
    with busy_container(spy):
        read = parse.parse_body(body, RelayConfig())
        read_long = parse.parse_body(long, RelayConfig())
    # Then orjson read the first; json the one with an integer orjson would have made a float
    assert len(calls) == 1
    assert read.events[0]["custom_data"]["order"] == 12345678901234567
    assert read_long.events[0]["custom_data"]["order"] == 1234567890123456789012


@pytest.mark.parametrize(
    "body, code",
    [
        (b'{"event_name": "Lead", "x": "\\ud800"}', "encoding_invalid"),  # a lone surrogate
        (b'{"event_name": "Lead", "v": 1e999}', "invalid_json"),
        (b'{"event_name": NaN}', "invalid_json"),
        (b"[" * 2000 + b"]" * 2000, "nesting_too_deep"),
        (b'{"a": 1} {"b": 2}', "invalid_json"),
    ],
)
def test_a_busy_container_refuses_what_a_quiet_one_refuses(body, code):
    with busy_container(), pytest.raises(BadRequest) as refused:
        parse.parse_body(body, RelayConfig())
    assert [error.code for error in refused.value.errors] == [code]


def test_a_busy_container_refuses_an_event_nested_past_pythons_limit_alone():
    # Given a batch whose second event is nested 1,000 levels deep: past what json can read (Python's
    # recursion limit, which refuses the whole body), within orjson's 1,024
    deep = "[" * 1000 + "]" * 1000
    body = f'{{"data": [{{"event_name": "Lead"}}, {{"event_name": "Lead", "custom_data": {{"x": {deep}}}}}]}}'
    # When a busy container reads it
    with busy_container():
        parsed = parse.parse_body(body.encode(), RelayConfig())
    # Then the deep event alone is refused, with the code a quiet container gives the whole body
    assert [(error.index, error.code) for error in parsed.errors] == [(1, "nesting_too_deep")]
    assert len(parsed.events) == 2


# --- json_codec: json writes what json.dumps writes; a busy container's orjson, the same values ------


@settings(max_examples=200, deadline=None)
@given(payload=JSON_TEXT.map(json.loads))
def test_graph_body_json_writer_writes_what_json_dumps_writes(payload):
    slow = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, check_circular=False)
    if isinstance(payload, float) and not math.isfinite(payload):
        return
    assert json_codec.write_with_json(payload) == slow.encode()


def _typed(body: bytes) -> str:
    """The values a body holds, with their JSON types: 1 and 1.0 differ, 1e-7 and 1e-07 do not."""
    return json.dumps(json.loads(body), sort_keys=True)


# What a Graph body can hold: everything parse lets through (no NaN, no infinity, no lone surrogate),
# integers of any size (Meta's `value`, a caller's numeric ids), Unicode and control characters
GRAPH_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**64 + 2)
    | st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(payload=GRAPH_VALUES)
def test_a_busy_writer_writes_the_values_json_writes(payload):
    # Given a writer that has switched to orjson
    writer = json_codec.GraphBodyWriter(fast_after_events=1)
    # When it writes any payload / Then Meta reads the values, with their types, that json would send
    assert _typed(writer({"data": [payload]}, 1)) == _typed(json_codec.write_with_json({"data": [payload]}))
    assert writer.codec == "orjson"


PAYLOAD = {"data": [{"event_name": "Purchase", "custom_data": {"value": 1e-7, "note": "é"}}]}


def _written_by(body: bytes) -> str:
    return "json" if b"1e-07" in body else "orjson"  # the two spell a float's exponent differently


def test_a_writer_stays_on_json_until_it_has_written_enough_events():
    # Given a writer that switches after 3 events
    writer = json_codec.GraphBodyWriter(fast_after_events=3)
    # When it writes one-event bodies / Then json writes the first two, orjson the third on
    assert [_written_by(writer(PAYLOAD, 1)) for _ in range(4)] == ["json", "json", "orjson", "orjson"]


def test_one_batch_as_large_as_the_threshold_is_written_by_orjson_at_once():
    writer = json_codec.GraphBodyWriter()
    assert writer.codec == "json"
    assert _written_by(writer(PAYLOAD, json_codec.FAST_AFTER_EVENTS)) == "orjson"


def test_integers_beyond_64_bits_are_written_exactly_by_a_busy_writer():
    # Given values orjson cannot write (it refuses integers outside 64 bits)
    payload = {"data": [{"custom_data": {"value": 2**64, "order": -(2**63) - 1, "big": 10**40}}]}
    writer = json_codec.GraphBodyWriter(fast_after_events=1)
    # Then json writes that body, digit for digit
    assert json.loads(writer(payload, 1)) == payload
    assert writer.codec == "orjson"  # and the next body is orjson's again


def test_without_orjson_json_writes_every_body(monkeypatch):
    # Given a layer built without orjson (None in sys.modules makes its import fail)
    monkeypatch.setitem(sys.modules, "orjson", None)
    writer = json_codec.GraphBodyWriter(fast_after_events=1)
    # Then every body is json's, and the writer stops counting
    assert [_written_by(writer(PAYLOAD, 1000)) for _ in range(2)] == ["json", "json"]
    assert writer.codec == "json"


# --- auth: cached parses of origins and page URLs equal the uncached ones --------------------------

HOSTS = st.sampled_from(
    ["shop.example", "SHOP.example.", "xn--bcher-kva.example", "Bücher.example", "a@b.c", ""]
)
URLISH = st.builds(
    lambda scheme, host, port, rest: f"{scheme}{host}{port}{rest}",
    st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "//", "https:/", "javascript:"]),
    HOSTS,
    st.sampled_from(["", ":443", ":8080", ":0", ":99999", ":x"]),
    st.sampled_from(["", "/", "/checkout?x=1", "#f", "\\evil", " /x", "\t", "/%2e%2e"]),
) | st.text(max_size=30)


@settings(max_examples=400, deadline=None)
@given(url=URLISH)
def test_cached_url_host_is_url_host(url):
    auth._cached_url_host.cache_clear()
    first, again = auth._cached_url_host(url), auth._cached_url_host(url)
    assert first == again == auth.url_host(url)


@settings(max_examples=400, deadline=None)
@given(origin=URLISH)
def test_cached_origin_key_is_parse_origin(origin):
    assert auth._origin_key(origin) == auth._origin_key(origin) == auth.parse_origin(origin)


PAGE_URL = st.builds(
    lambda base, path: base + path,
    URLISH,
    st.sampled_from(
        ["", "/p/1?utm_source=ads", "?q=a@b", "#x", "/a b", "/\\x", ":80/x", "@evil.example/", "/%0a"]
    ),
) | st.text(alphabet="htps:/.@[]#?%\\ \tabcxyz019-", max_size=40)


@settings(max_examples=600, deadline=None)
@given(url=PAGE_URL)
def test_page_host_is_url_host(url):
    # Given any page URL (paths, queries, user info, brackets, ports, stray characters)
    # When its host is read through the per-authority cache / Then it is what urlsplit makes of it
    assert auth.page_host(url) == auth.url_host(url)


def test_a_host_longer_than_the_cache_takes_is_still_checked_and_not_remembered():
    # Given page URLs whose host is longer than the cached length, on an allowed domain and on another
    long_ok = "https://" + "a" * auth.CACHED_TEXT_MAX + ".shop.example/"
    long_bad = "https://" + "a" * auth.CACHED_TEXT_MAX + ".evil.example/"
    auth._cached_url_host.cache_clear()
    # Then each is judged as a short one would be, and the cache holds neither
    assert auth.check_url_domain(long_ok, ("shop.example",)) is True
    assert auth.check_url_domain(long_bad, ("shop.example",)) is False
    assert auth._cached_url_host.cache_info().currsize == 0


# --- meta_client: requests' environment read once equals requests reading it on every request -----

PROXY_ENV = st.fixed_dictionaries(
    {},
    optional={
        "HTTPS_PROXY": st.sampled_from(["http://proxy.internal:3128", "", "socks5://p:1080"]),
        "https_proxy": st.sampled_from(["http://lower.internal:8080"]),
        "HTTP_PROXY": st.sampled_from(["http://proxy.internal:3128"]),
        "NO_PROXY": st.sampled_from(["graph.facebook.com", ".facebook.com", "*", "example.com", ""]),
        "no_proxy": st.sampled_from(["localhost,127.0.0.1"]),
        "REQUESTS_CA_BUNDLE": st.sampled_from(["/etc/ssl/certs/ca.pem", ""]),
        "CURL_CA_BUNDLE": st.sampled_from(["/etc/ssl/certs/curl.pem"]),
    },
)
PROXY_NAMES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY")
CA_NAMES = ("all_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@settings(max_examples=150, deadline=None)
@given(env=PROXY_ENV, url=st.sampled_from(["https://graph.facebook.com", "http://127.0.0.1:8089"]))
def test_pinned_session_sends_with_the_proxies_and_ca_bundle_requests_would_pick(env, url):
    with pytest.MonkeyPatch.context() as patch:
        # Given any proxy / CA-bundle environment
        for name in (*PROXY_NAMES, *CA_NAMES):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        # When requests works it out per request (trust_env) and the pinned session once
        slow = requests.Session().merge_environment_settings(url + "/v24.0/1/events", {}, None, None, None)
        pinned = requests.Session()
        meta_client.pin_environment(pinned, url)
        fast = pinned.merge_environment_settings(url + "/v24.0/1/events", {}, None, None, None)
    # Then the request goes through the same proxy with the same CA bundle
    assert (fast["proxies"], fast["verify"]) == (slow["proxies"], slow["verify"])
    assert pinned.trust_env is False
