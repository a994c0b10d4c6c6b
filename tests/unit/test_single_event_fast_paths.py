"""The single-event path's shortcuts give exactly what the work they skip would give (property tests).

Each shortcut moves request-independent work out of the request: a JSON decoder/encoder built once,
origins and page URLs parsed once (bounded caches), requests' environment lookups done once per
container. Each is checked against the slow path it replaces, on inputs an attacker could send.
"""

from __future__ import annotations

import json
import math

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from capi_relay import auth, meta_client, parse

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


# --- meta_client: the encoder built once writes the bytes json.dumps(...) writes ------------------


@settings(max_examples=200, deadline=None)
@given(payload=JSON_TEXT.map(json.loads))
def test_graph_body_encoder_writes_what_json_dumps_writes(payload):
    slow = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, check_circular=False)
    if isinstance(payload, float) and not math.isfinite(payload):
        return
    assert meta_client._ENCODER.encode(payload) == slow


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
