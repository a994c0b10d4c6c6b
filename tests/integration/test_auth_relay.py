"""Who may send, through the production path relay_request(): keys, signatures, origins, the open flag.

Integration: relay_request() reaches the Graph sandbox over HTTP for an admitted request.
"""

from __future__ import annotations

import json

import pytest

from capi_relay import relay_request
from capi_relay.errors import BadRequest, Forbidden, Unauthorized
from capi_relay.model import IngestRequest, RelayConfig
from tests.unit.doubles import RecordingSink
from tests.unit.test_auth import (  # the requests and deployments the unit tests of auth use too
    KEY,
    LOCKED,
    NOW,
    OPEN,
    SECRET,
    SHOP,
    body_of,
    codes,
    request,
    signed,
)


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
