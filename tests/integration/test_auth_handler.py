"""Who may send, through the real ingest handler: API keys and HMAC signatures from the secret in the
moto server, origins and URL domains from the environment, pixels and their own tokens.

README "Security" has the policy table these tests walk through.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from capi_relay.auth import sign
from tests.conftest import META_TOKEN, PIXEL_ID
from tests.integration.lambda_events import http_event, sample

API_KEY = "k_live_canary-key-5d21"
STORED_AS_DIGEST = "k_live_canary-digest-key-0c4e"  # kept in the secret as sha256:<hex> only
HMAC_SECRET = "whsec_canary-hmac-secret-" + "9" * 16
SECOND_PIXEL = "2222222222"
SECOND_TOKEN = "second-pixel-token-canary-8b1e"
BODY = sample("single.json")["body"].encode()  # a website Purchase for https://shop.example


@pytest.fixture
def locked(handlers, local_aws, graph_sandbox):
    """A relay whose secret holds two API keys (one stored as a digest) and an HMAC secret."""
    digest = "sha256:" + hashlib.sha256(STORED_AS_DIGEST.encode()).hexdigest()
    local_aws.put_token(META_TOKEN, api_keys=[API_KEY, digest], hmac_secret=HMAC_SECRET)
    return handlers


def server_event(body: bytes = BODY, query: dict | None = None, **headers: str) -> dict:
    """The sample request as a server sends it: no Origin header, the given headers added."""
    event = http_event(body, headers=headers, query=query)
    del event["headers"]["origin"]
    return event


def signed_event(body: bytes = BODY, *, stamp: int | None = None, sent: bytes | None = None) -> dict:
    """A server request signed over `body`; `sent` is what actually travels (a tampered body)."""
    stamp = int(time.time()) if stamp is None else stamp
    signature = sign(HMAC_SECRET, stamp, body)
    return server_event(
        body if sent is None else sent, **{"x-capi-timestamp": str(stamp), "x-capi-signature": signature}
    )


@pytest.mark.parametrize("key", [API_KEY, STORED_AS_DIGEST], ids=["plain", "stored-as-digest"])
def test_server_with_the_right_api_key_is_accepted_and_the_event_reaches_meta(locked, graph_sandbox, key):
    # Given a locked relay and a server presenting one of its keys
    # When it posts an event
    status, body = locked.ingest(server_event(**{"x-api-key": key}))
    # Then Meta has the event
    assert status == 200 and body["event_ids"] == ["ord-10042-purchase"]
    assert [row["event"]["event_id"] for row in graph_sandbox.events()] == ["ord-10042-purchase"]


def test_server_with_a_valid_signature_is_accepted_and_the_event_reaches_meta(locked, graph_sandbox):
    # Given a server signing "{timestamp}.{body}" with the relay's HMAC secret
    # When it posts the signed body
    status, body = locked.ingest(signed_event())
    # Then Meta has the event
    assert status == 200 and body["events_received"] == 1
    assert [row["pixel_id"] for row in graph_sandbox.events()] == [PIXEL_ID]


@pytest.mark.parametrize(
    ("event", "field", "code"),
    [
        (lambda: server_event(), "headers.x-api-key", "credentials_missing"),
        (lambda: server_event(**{"x-api-key": API_KEY + "x"}), "headers.x-api-key", "api_key_invalid"),
        (lambda: server_event(**{"x-api-key": ""}), "headers.x-api-key", "api_key_invalid"),
        (
            lambda: signed_event(stamp=int(time.time()) - 301),  # a captured request, replayed later
            "headers.x-capi-timestamp",
            "timestamp_out_of_window",
        ),
        (
            lambda: signed_event(sent=BODY.replace(b"59.9", b"0.01")),  # changed after signing
            "headers.x-capi-signature",
            "signature_invalid",
        ),
        (
            lambda: server_event(**{"x-capi-timestamp": str(int(time.time())), "x-capi-signature": "0" * 64}),
            "headers.x-capi-signature",
            "signature_invalid",
        ),
    ],
    ids=["missing", "wrong-key", "empty-key", "replayed", "tampered-body", "forged-signature"],
)
def test_server_without_valid_credentials_is_refused_401_and_nothing_is_sent(
    locked, graph_sandbox, capsys, event, field, code
):
    # Given a locked relay and a server whose credentials are absent or do not verify
    # When it posts
    status, body = locked.ingest(event())
    # Then it is a 401 naming the header and the reason, nothing reached Meta
    assert status == 401
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)]
    assert graph_sandbox.events() == []
    # ... and no credential shows in the answer or the logs
    out = capsys.readouterr()
    for secret in (API_KEY, HMAC_SECRET, META_TOKEN):
        assert secret not in repr(body) + out.out + out.err


def test_browser_from_an_origin_not_allowed_is_refused_403(locked, graph_sandbox):
    # Given a page on another site posting to a locked relay
    event = http_event(headers={"origin": "https://evil.example", "referer": "https://evil.example/"})
    # When it posts
    status, body = locked.ingest(event)
    # Then it is refused for its origin, nothing reached Meta
    assert status == 403 and [e["code"] for e in body["errors"]] == ["origin_not_allowed"]
    assert graph_sandbox.events() == []


def test_browser_from_the_allowed_origin_is_accepted_without_credentials(locked, graph_sandbox):
    # Given the shop's own page (the sample's Origin is on ALLOWED_ORIGINS)
    status, _ = locked.ingest(http_event())
    assert status == 200 and len(graph_sandbox.events()) == 1


def test_event_for_a_domain_not_allowed_is_refused_403_unless_a_server_proves_itself(locked, graph_sandbox):
    # Given a relay that takes events only for pages on shop.example
    locked.restart(ALLOWED_URL_DOMAINS="shop.example")
    body = BODY.replace(b"https://shop.example/checkout", b"https://evil.example/checkout")
    # When the allowed page sends an event naming another site, then a server with a key does
    browser_status, browser_body = locked.ingest(http_event(body))
    server_status, _ = locked.ingest(server_event(body, **{"x-api-key": API_KEY}))
    # Then the browser's event is refused by index; the server may send for any page
    assert browser_status == 403
    assert [(e["index"], e["field"], e["code"]) for e in browser_body["errors"]] == [
        (0, "event_source_url", "url_domain_not_allowed")
    ]
    assert server_status == 200 and len(graph_sandbox.events()) == 1


def test_unknown_pixel_is_refused_403_even_with_a_valid_key(locked, graph_sandbox):
    # Given a server with a valid key naming a pixel this relay does not serve
    event = server_event(query={"pixel_id": "999999999"}, **{"x-api-key": API_KEY})
    # When it posts
    status, body = locked.ingest(event)
    # Then it is refused, nothing reached Meta
    assert status == 403 and [e["code"] for e in body["errors"]] == ["pixel_not_allowed"]
    assert graph_sandbox.events() == []


def test_second_pixel_is_sent_to_with_its_own_token_from_the_secret(locked, local_aws, graph_sandbox):
    # Given a relay serving two pixels, the second with its own token in the secret and at Meta
    locked.restart(META_PIXEL_ID=f"{PIXEL_ID},{SECOND_PIXEL}")
    local_aws.put_token(META_TOKEN, api_keys=[API_KEY], pixels={SECOND_PIXEL: SECOND_TOKEN})
    graph_sandbox.set_token(SECOND_TOKEN, pixel_id=SECOND_PIXEL)
    second = BODY.replace(b"ord-10042-purchase", b"ord-2-purchase")
    # When a server sends one event to the second pixel (by query) and one to the default
    key = {"x-api-key": API_KEY}
    status_second, _ = locked.ingest(server_event(second, query={"pixel_id": SECOND_PIXEL}, **key))
    status_default, _ = locked.ingest(server_event(**key))
    # Then each reached its own pixel, and Meta took each token the first time (no 190)
    assert (status_second, status_default) == (200, 200)
    assert [(r["pixel_id"], r["event"]["event_id"]) for r in graph_sandbox.events()] == [
        (SECOND_PIXEL, "ord-2-purchase"),
        (PIXEL_ID, "ord-10042-purchase"),
    ]
    assert [r["status"] for r in graph_sandbox.requests()] == [200, 200]
