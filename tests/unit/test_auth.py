"""Who may send: API keys, HMAC signatures, origin and URL allow-lists, pixels (README "Security")."""

from __future__ import annotations

import hashlib
import json

import pytest

from capi_relay import relay_request
from capi_relay.auth import (
    authenticate_caller,
    check_event_sources,
    check_origin,
    check_url_domain,
    choose_pixel,
    sign,
    verify_api_key,
    verify_signature,
)
from capi_relay.errors import BadRequest, Forbidden, Unauthorized
from capi_relay.model import IngestRequest, RelayConfig
from tests.unit.doubles import RecordingSink

NOW = 1_764_100_000
KEY = "k_live_canary-key-5d1e"
SECRET = "whsec_canary-secret-9b2c"
SHOP = "https://shop.example.com"


def body_of(url: str = SHOP + "/checkout") -> bytes:
    return json.dumps({"event_name": "Purchase", "event_source_url": url}).encode()


def request(body: bytes | None = None, **headers: str) -> IngestRequest:
    names = {name.replace("_", "-").lower(): value for name, value in headers.items()}
    return IngestRequest(body=body_of() if body is None else body, headers=names)


def signed(body: bytes, timestamp: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return {"x_capi_timestamp": str(timestamp), "x_capi_signature": sign(secret, timestamp, body)}


def codes(error: Unauthorized | Forbidden) -> list[tuple[int | None, str, str]]:
    return [(e.index, e.field, e.code) for e in error.errors]


LOCKED = RelayConfig(
    pixel_ids=("1234567890",),
    api_keys=(KEY,),
    hmac_secret=SECRET,
    allowed_origins=(SHOP,),
    allowed_url_domains=("shop.example.com",),
)
OPEN = RelayConfig(pixel_ids=("1234567890",), open_relay=True)


@pytest.fixture
def authenticate(client, tokens):
    """The production path, relay_request(), up to where who-may-send is decided: raises Unauthorized or
    Forbidden, or returns the status of an admitted request (these bodies are 400s past the gate)."""

    def admit(request: IngestRequest, config: RelayConfig, now: float) -> int:
        try:
            return relay_request(
                request, config=config, client=client, credentials=tokens, sink=RecordingSink(), now=now
            ).status
        except (Unauthorized, Forbidden):
            raise
        except BadRequest as error:  # past the gate: the event itself is incomplete
            return error.status

    return admit


# --- check_origin --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [SHOP, "https://SHOP.example.com", "https://shop.example.com:443", "https://shop.example.com/"],
    ids=["exact", "case", "default-port", "trailing-slash"],
)
def test_origin_on_the_list_in_any_spelling_is_allowed(origin):
    # Given an allow-list with one https origin
    # When the browser's Origin spells it another equivalent way
    # Then it is allowed
    assert check_origin(origin, [SHOP])


@pytest.mark.parametrize(
    "origin",
    [
        "http://shop.example.com",
        "https://shop.example.com:8443",
        "https://evil.example.com",
        "https://shop.example.com.evil.example",
        "https://evilshop.example.com",
        "https://a.shop.example.com",
        "null",
        "",
        None,
        "https://user@shop.example.com",
        "https://shop.example.com/path",
        "javascript://shop.example.com",
        "https://shop.example.com\\@evil.example",
    ],
    ids=[
        "other-scheme",
        "other-port",
        "other-host",
        "suffix-trick",
        "prefix-trick",
        "subdomain-not-listed",
        "null-origin",
        "empty",
        "absent",
        "userinfo",
        "path",
        "not-http",
        "backslash",
    ],
)
def test_origin_not_on_the_list_is_refused(origin):
    # Given an allow-list with one exact origin
    # When anything else is presented
    # Then it is refused
    assert not check_origin(origin, [SHOP])


def test_wildcard_origin_allows_subdomains_but_not_the_bare_domain():
    # Given a wildcard entry for the shop's subdomains
    allowed = ["https://*.shop.example.com"]
    # When a subdomain, a deeper subdomain, the bare domain and a look-alike ask
    # Then only the subdomains are allowed
    assert check_origin("https://www.shop.example.com", allowed)
    assert check_origin("https://a.b.shop.example.com", allowed)
    assert not check_origin(SHOP, allowed)
    assert not check_origin("https://evilshop.example.com", allowed)
    assert not check_origin("http://www.shop.example.com", allowed)


def test_star_allows_any_http_origin_but_not_null():
    # Given "*" as the allow-list
    # When an https origin and the opaque "null" origin ask
    # Then any web origin is allowed, the opaque one is not
    assert check_origin("https://anything.example", ["*"])
    assert not check_origin("null", ["*"])


# --- check_url_domain ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/checkout?x=1",
        "http://shop.example.com",
        "https://www.shop.example.com/a",
        "https://SHOP.EXAMPLE.COM./a",
        "https://shop.example.com:8443/a",
    ],
    ids=["exact", "http", "subdomain", "case-and-root-dot", "port"],
)
def test_url_on_an_allowed_domain_or_its_subdomain_is_allowed(url):
    # Given the shop's domain on the allow-list
    # When an event names a URL on it
    # Then it is allowed
    assert check_url_domain(url, ["shop.example.com"])


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/checkout",
        "https://shop.example.com.evil.example/",
        "https://evilshop.example.com/",
        "https://evil.example/?u=https://shop.example.com",
        "https://shop.example.com@evil.example/",
        "https://user:pw@shop.example.com/",
        "https://evil.example\\@shop.example.com/",
        "https://evil.example\\.shop.example.com/",
        "https://shop.example.com\t.evil.example/",
        "ftp://shop.example.com/",
        "javascript:alert(1)//shop.example.com",
        "//shop.example.com/a",
        "shop.example.com/a",
        "https://[::1/",
        "https://shop.example.com:99999/",
        "",
        None,
    ],
    ids=[
        "other-host",
        "suffix-trick",
        "prefix-trick",
        "in-query",
        "userinfo",
        "credentials-in-url",
        "backslash-userinfo",
        "backslash-host",
        "tab",
        "ftp",
        "javascript",
        "scheme-relative",
        "no-scheme",
        "broken-ipv6",
        "bad-port",
        "empty",
        "absent",
    ],
)
def test_url_off_the_allowed_domains_or_ambiguous_is_refused(url):
    # Given the shop's domain on the allow-list
    # When a URL elsewhere, or one a browser would read differently, is named
    # Then it is refused
    assert not check_url_domain(url, ["shop.example.com"])


def test_international_domain_matches_its_punycode_entry():
    # Given an allow-list written in punycode
    # When the URL names the same host in Unicode
    # Then they are the same domain
    assert check_url_domain("https://www.bücher.example/", ["xn--bcher-kva.example"])


def test_domain_entries_written_as_wildcards_or_urls_are_understood():
    # Given entries written the ways people write them
    # When a subdomain URL is checked
    # Then each form allows it
    for entry in ["*.shop.example.com", ".shop.example.com", "https://shop.example.com"]:
        assert check_url_domain("https://www.shop.example.com/", [entry]), entry


# --- verify_api_key ------------------------------------------------------------------------------


def test_api_key_stored_in_clear_or_as_sha256_is_accepted():
    # Given one key stored in clear and another stored as its SHA-256
    other = "k_live_second"
    keys = [KEY, "sha256:" + hashlib.sha256(other.encode()).hexdigest()]
    # When either is presented
    # Then both are accepted
    assert verify_api_key(KEY, keys)
    assert verify_api_key(other, keys)


@pytest.mark.parametrize(
    "presented",
    ["", None, KEY[:-1], KEY + "x", KEY.upper(), "sha256:" + hashlib.sha256(KEY.encode()).hexdigest()],
    ids=["empty", "absent", "prefix", "longer", "case", "the-digest-itself"],
)
def test_wrong_api_key_is_refused(presented):
    # Given the key stored in clear and as a digest
    keys = [KEY, "sha256:" + hashlib.sha256(KEY.encode()).hexdigest()]
    # When something else is presented (the stored digest included)
    # Then it is refused
    assert not verify_api_key(presented, keys)


def test_malformed_stored_digest_matches_nothing():
    # Given a stored digest that is not 64 hex characters, and no keys at all
    # When keys are presented
    # Then nothing matches
    assert not verify_api_key("x", ["sha256:nothex"])
    assert not verify_api_key(KEY, [])


# --- sign / verify_signature ---------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    # Given Stripe's published scheme (HMAC-SHA256 over "{t}.{body}", hex)
    import hmac

    expected = hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest()
    # When the relay's helper signs the same
    # Then the two agree, for str and bytes bodies alike
    assert sign("secret", 1700000000, b"{}") == expected
    assert sign("secret", "1700000000", "{}") == expected


def test_signature_within_the_window_is_accepted_either_side_of_now():
    # Given a body signed 299 s ago and 299 s ahead (clock skew)
    body = body_of()
    for stamp in (NOW - 299, NOW + 299):
        headers = signed(body, stamp)
        # When it is verified
        # Then it passes (no exception), also with a "sha256=" prefix
        verify_signature(SECRET, headers["x_capi_timestamp"], headers["x_capi_signature"], body, NOW)
        verify_signature(SECRET, str(stamp), "sha256=" + sign(SECRET, stamp, body), body, NOW)


@pytest.mark.parametrize(
    ("stamp", "code"),
    [(NOW - 301, "timestamp_out_of_window"), (NOW + 301, "timestamp_out_of_window")],
    ids=["replayed-too-late", "from-the-future"],
)
def test_signature_outside_the_window_is_refused_as_a_replay(stamp, code):
    # Given a correct signature made with a timestamp outside the 300 s window
    body = body_of()
    headers = signed(body, stamp)
    # When it is verified
    with pytest.raises(Unauthorized) as refused:
        verify_signature(SECRET, headers["x_capi_timestamp"], headers["x_capi_signature"], body, NOW)
    # Then it is a 401 naming the timestamp header
    assert codes(refused.value) == [(None, "headers.x-capi-timestamp", code)]
    assert refused.value.status == 401


def test_signature_of_another_body_or_timestamp_or_secret_is_refused():
    # Given a valid signature for one body at one time
    body = body_of()
    good = sign(SECRET, NOW, body)
    cases = [
        (str(NOW), good, body + b" "),  # body changed after signing
        (str(NOW - 1), good, body),  # re-dated to pass the window
        (str(NOW), sign("other-secret", NOW, body), body),
        (str(NOW), good[:-1], body),
        (str(NOW), "zz" * 32, body),
    ]
    for stamp, signature, sent in cases:
        # When any part differs from what was signed
        with pytest.raises(Unauthorized) as refused:
            verify_signature(SECRET, stamp, signature, sent, NOW)
        # Then it is refused as an invalid signature, without echoing it
        assert codes(refused.value) == [(None, "headers.x-capi-signature", "signature_invalid")]
        assert signature not in json.dumps(refused.value.body())


@pytest.mark.parametrize(
    ("stamp", "signature", "field", "code"),
    [
        (None, "ab" * 32, "headers.x-capi-timestamp", "timestamp_missing"),
        ("soon", "ab" * 32, "headers.x-capi-timestamp", "timestamp_invalid"),
        ("-5", "ab" * 32, "headers.x-capi-timestamp", "timestamp_invalid"),
        ("1e9", "ab" * 32, "headers.x-capi-timestamp", "timestamp_invalid"),
        ("１７６４１０００００", "ab" * 32, "headers.x-capi-timestamp", "timestamp_invalid"),
        (str(NOW), None, "headers.x-capi-signature", "signature_missing"),
    ],
    ids=["no-timestamp", "words", "negative", "float", "fullwidth-digits", "no-signature"],
)
def test_malformed_signature_headers_are_refused_naming_the_header(stamp, signature, field, code):
    # Given signature headers that are missing or not what the scheme says
    # When they are verified
    with pytest.raises(Unauthorized) as refused:
        verify_signature(SECRET, stamp, signature, b"{}", NOW)
    # Then the 401 names the header and the reason
    assert codes(refused.value) == [(None, field, code)]


def test_any_of_several_secrets_verifies_during_rotation():
    # Given the old and the new secret both configured
    body = body_of()
    # When requests signed with either arrive
    # Then both pass
    for secret in ("old-secret", "new-secret"):
        verify_signature(["old-secret", "new-secret"], str(NOW), sign(secret, NOW, body), body, NOW)


# --- authenticate: server callers ----------------------------------------------------------------


def test_server_with_a_valid_api_key_is_admitted_whatever_its_urls(authenticate):
    # Given a locked relay and a server posting an event for another site
    body = body_of("https://partner.example/thanks")
    # When it presents a valid key
    # Then it is admitted (no exception): credentials outrank the browser rules
    authenticate(request(body, x_api_key=KEY), LOCKED, NOW)


def test_server_with_a_valid_signature_is_admitted(authenticate):
    # Given a locked relay and a signed request
    body = body_of()
    # When it is authenticated
    # Then it is admitted
    authenticate(request(body, **signed(body)), LOCKED, NOW)


def test_server_without_credentials_on_a_locked_relay_is_unauthorized(authenticate):
    # Given a relay with keys configured
    # When a caller without Origin sends no key and no signature
    with pytest.raises(Unauthorized) as refused:
        authenticate(request(), LOCKED, NOW)
    # Then 401 says which headers to send
    assert refused.value.status == 401
    assert codes(refused.value) == [(None, "headers.x-api-key", "credentials_missing")]
    assert "X-Api-Key" in refused.value.errors[0].message


def test_wrong_api_key_is_unauthorized_even_from_an_allowed_origin(authenticate):
    # Given a browser-looking request from the allowed origin carrying a wrong key
    # When it is authenticated
    with pytest.raises(Unauthorized) as refused:
        authenticate(request(origin=SHOP, x_api_key="guess"), LOCKED, NOW)
    # Then the bad key is a 401: a failed credential never falls back to the browser rules
    assert codes(refused.value) == [(None, "headers.x-api-key", "api_key_invalid")]
    assert "guess" not in json.dumps(refused.value.body())


def test_stale_signature_is_unauthorized_in_authenticate(authenticate):
    # Given a request signed ten minutes ago and captured
    body = body_of()
    # When it is replayed now
    with pytest.raises(Unauthorized) as refused:
        authenticate(request(body, **signed(body, NOW - 600)), LOCKED, NOW)
    # Then it is a 401 for the timestamp
    assert codes(refused.value) == [(None, "headers.x-capi-timestamp", "timestamp_out_of_window")]


def test_valid_key_with_a_broken_signature_is_still_unauthorized(authenticate):
    # Given a request with a valid key and a forged signature
    body = body_of()
    headers = {"x_api_key": KEY, "x_capi_timestamp": str(NOW), "x_capi_signature": "ab" * 32}
    # When it is authenticated
    with pytest.raises(Unauthorized) as refused:
        authenticate(request(body, **headers), LOCKED, NOW)
    # Then every credential presented must hold
    assert codes(refused.value) == [(None, "headers.x-capi-signature", "signature_invalid")]


@pytest.mark.parametrize(
    ("config", "headers", "field", "code"),
    [
        (RelayConfig(hmac_secret=SECRET), {"x_api_key": KEY}, "headers.x-api-key", "api_key_not_enabled"),
        (
            RelayConfig(api_keys=(KEY,)),
            {"x_capi_timestamp": str(NOW), "x_capi_signature": "ab" * 32},
            "headers.x-capi-signature",
            "signature_not_enabled",
        ),
    ],
    ids=["key-on-a-signature-relay", "signature-on-a-key-relay"],
)
def test_credential_of_a_kind_not_configured_is_unauthorized(config, headers, field, code, authenticate):
    # Given a relay that takes only one kind of credential
    # When the other kind is presented
    with pytest.raises(Unauthorized) as refused:
        authenticate(request(**headers), config, NOW)
    # Then 401 says which kind this relay takes
    assert codes(refused.value) == [(None, field, code)]


def test_open_relay_admits_callers_and_ignores_unverifiable_credentials(authenticate):
    # Given a relay made open on purpose (OpenRelay=true: local mode, a trial)
    # When a server sends no credentials, or a key the relay cannot check
    # Then both are admitted: a client may start sending its key before the relay requires it
    authenticate(request(), OPEN, NOW)
    authenticate(request(x_api_key="anything"), OPEN, NOW)


# --- authenticate: browsers ----------------------------------------------------------------------


def test_browser_from_an_allowed_origin_and_domain_is_admitted_without_a_key(authenticate):
    # Given a locked relay and a browser on the shop's site
    # When its event names a page of the shop
    # Then it is admitted without credentials (a browser cannot keep a secret)
    authenticate(request(origin=SHOP), LOCKED, NOW)


def test_browser_from_another_origin_is_forbidden(authenticate):
    # Given a locked relay
    # When a page elsewhere posts (sendBeacon sends text/plain without a CORS preflight)
    with pytest.raises(Forbidden) as refused:
        authenticate(request(origin="https://evil.example"), LOCKED, NOW)
    # Then 403 names the Origin header
    assert refused.value.status == 403
    assert codes(refused.value) == [(None, "headers.origin", "origin_not_allowed")]


def test_browser_on_a_locked_relay_without_allowed_origins_is_forbidden(authenticate):
    # Given keys configured and no origin allowed: a server-only relay
    config = RelayConfig(api_keys=(KEY,))
    # When a browser posts
    with pytest.raises(Forbidden) as refused:
        authenticate(request(origin=SHOP), config, NOW)
    # Then it is a 403
    assert codes(refused.value) == [(None, "headers.origin", "origin_not_allowed")]


def test_open_relay_with_an_origin_list_still_enforces_it(authenticate):
    # Given an open relay (OpenRelay=true, a trial) with an origin allow-list
    config = RelayConfig(pixel_ids=("1234567890",), allowed_origins=(SHOP,), open_relay=True)
    # When an allowed and a foreign origin post
    authenticate(request(origin=SHOP), config, NOW)
    with pytest.raises(Forbidden):
        authenticate(request(origin="https://evil.example"), config, NOW)
    # Then only the allowed one passes (no credentials needed on an open relay)


def test_event_for_another_domain_is_forbidden_with_its_index(authenticate):
    # Given a batch from the allowed origin whose second event claims another site
    body = json.dumps(
        {"data": [{"event_source_url": SHOP + "/a"}, {"event_source_url": "https://evil.example/"}]}
    ).encode()
    # When it is authenticated
    with pytest.raises(Forbidden) as refused:
        authenticate(request(body, origin=SHOP), LOCKED, NOW)
    # Then 403 names the event and the field, never the URL
    assert codes(refused.value) == [(1, "event_source_url", "url_domain_not_allowed")]
    assert "evil" not in json.dumps(refused.value.body())


def test_event_without_url_is_checked_by_the_referer_that_would_fill_it(authenticate):
    # Given an event with no event_source_url, posted with a foreign Referer
    body = json.dumps({"event_name": "Lead"}).encode()
    # When it is authenticated
    with pytest.raises(Forbidden) as refused:
        authenticate(request(body, origin=SHOP, referer="https://evil.example/x"), LOCKED, NOW)
    # Then the Referer is what is refused
    assert codes(refused.value) == [(0, "headers.referer", "url_domain_not_allowed")]
    # And the shop's own Referer passes
    authenticate(request(body, origin=SHOP, referer=SHOP + "/x"), LOCKED, NOW)


def test_url_domains_apply_to_an_uncredentialed_server_on_an_open_relay(authenticate):
    # Given an open relay that limits URL domains only
    config = RelayConfig(
        pixel_ids=("1234567890",), allowed_url_domains=("shop.example.com",), open_relay=True
    )
    # When a caller without Origin names a foreign URL
    with pytest.raises(Forbidden):
        authenticate(request(body_of("https://evil.example/")), config, NOW)
    # Then it is refused; a shop URL passes
    authenticate(request(body_of()), config, NOW)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"data": "x"}', b"[" * 100_000, b'{"event_source_url": 5}', b'{"data": [7]}'],
    ids=["not-json", "list", "data-not-list", "deep", "url-not-string", "event-not-object"],
)
def test_unparseable_bodies_are_left_for_validation(body, authenticate):
    # Given bodies that parsing will refuse with a 400
    # When a browser from the allowed origin posts them
    # Then they pass the gate to that 400 instead of a guessed 403 or a crash
    assert authenticate(request(body, origin=SHOP), LOCKED, NOW) == 400


def test_caller_check_alone_tells_credentialed_servers_from_admitted_browsers():
    # Given a locked relay, a server with a key and a browser from the allowed origin
    body = body_of("https://evil.example/")
    # When only the header half of the policy runs (before the body is parsed)
    # Then the server needs no URL check, the browser still does
    assert authenticate_caller(request(body, x_api_key=KEY), LOCKED, NOW) is True
    assert authenticate_caller(request(body, origin=SHOP), LOCKED, NOW) is False
    with pytest.raises(Forbidden):
        check_event_sources(request(body, origin=SHOP), LOCKED, [json.loads(body)])


def test_caller_check_refuses_strangers_without_reading_the_body():
    # Given a locked relay and a caller without credentials whose body is not even JSON
    # When the header half runs
    with pytest.raises(Unauthorized) as refused:
        authenticate_caller(request(b"\xff not json"), LOCKED, NOW)
    # Then it is a 401, not the parser's 400: strangers learn nothing about validation
    assert codes(refused.value) == [(None, "headers.x-api-key", "credentials_missing")]


# --- choose_pixel --------------------------------------------------------------------------------


def test_request_without_pixel_goes_to_the_default_pixel():
    # Given two configured pixels
    # When a request names none
    # Then the first is used
    assert choose_pixel(None, ("111", "222")) == "111"
    assert choose_pixel("", ("111", "222")) == "111"


def test_request_naming_a_configured_pixel_goes_there():
    # Given two configured pixels
    # When a request names the second, as a string or a number
    # Then it goes there
    assert choose_pixel("222", ("111", "222")) == "222"
    assert choose_pixel(222, ("111", "222")) == "222"


@pytest.mark.parametrize("requested", ["333", 333, True, ["111"], " 111"], ids=str)
def test_request_naming_another_pixel_is_forbidden(requested):
    # Given two configured pixels
    # When a request names one that is not configured (or not a pixel id at all)
    with pytest.raises(Forbidden) as refused:
        choose_pixel(requested, ("111", "222"))
    # Then it is a 403 on pixel_id
    assert codes(refused.value) == [(None, "pixel_id", "pixel_not_allowed")]


def test_relay_without_pixels_refuses_everything():
    # Given a misconfigured relay with no pixel
    # When a request arrives
    with pytest.raises(Forbidden) as refused:
        choose_pixel(None, ())
    # Then it is refused, not sent to an empty pixel id
    assert codes(refused.value) == [(None, "pixel_id", "pixel_not_configured")]
