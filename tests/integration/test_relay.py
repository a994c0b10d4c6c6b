"""relay_request(): the ingest use case end to end against the Graph sandbox over real HTTP."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capi_relay import relay_request
from capi_relay.errors import (
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    QueueUnavailable,
    Refused,
    SecretUnavailable,
    TokenMetaError,
    Unauthorized,
)
from capi_relay.hashing import sha256_hex
from capi_relay.meta_client import MetaClient
from capi_relay.model import IngestRequest, RelayConfig
from tests.unit.doubles import RecordingSink, TokenSource

PIXEL_ID = "1234567890"  # what tests/conftest.py's graph sandbox knows
TOKEN = "sandbox-token-3c9e51"
CONFIG = RelayConfig(pixel_ids=(PIXEL_ID,), default_region="us", open_relay=True)  # callers: no credentials
UA = "Mozilla/5.0 (X11; Linux x86_64)"
# Canary PII: none of these strings may appear anywhere but in Meta's hashed form
CANARIES = {
    "em": "canary.7f3a@example.com",
    "ph": "+1 202-555-0147",
    "fn": "Canaryfirst",
    "ln": "Canarylast",
    "ct": "Canarytown",
    "zp": "94105",
    "db": "1987-06-05",
}


def purchase(**changes: object) -> dict:
    event = {
        "event_name": "Purchase",
        "user_data": dict(CANARIES),
        "custom_data": {"value": 42.5, "currency": "USD"},
    }
    event.update(changes)
    return event


def request(payload: object, **changes: object) -> IngestRequest:
    fields = {
        "body": payload if isinstance(payload, bytes) else json.dumps(payload).encode(),
        "headers": {"user-agent": UA, "referer": "https://shop.example/checkout"},
        "cookies": {"_fbp": "fb.1.1764000000000.1234567890"},
        "source_ip": "198.51.100.23",
        "query": {},
    }
    fields.update(changes)
    return IngestRequest(**fields)  # type: ignore[arg-type]


def run(payload: object, client, tokens, sink, config: RelayConfig = CONFIG, **changes):
    return relay_request(
        request(payload, **changes),
        config=config,
        client=client,
        credentials=tokens,
        sink=sink,
        now=time.time(),
    )


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        for value in (*CANARIES.values(), "canary", "202-555-0147", "12025550147"):
            assert value not in text


def test_valid_purchase_reaches_meta_hashed_and_answers_200(graph_sandbox, client, tokens, sink):
    # Given a website Purchase with raw customer data, from a browser
    # When it is relayed
    result = run(purchase(event_id="order-1"), client, tokens, sink)
    # Then Meta got one event with every identifier hashed, enriched from the request
    [got] = graph_sandbox.events()
    user_data = got["event"]["user_data"]
    assert user_data["em"] == sha256_hex("canary.7f3a@example.com")
    assert user_data["ph"] == sha256_hex("12025550147")
    assert user_data["client_user_agent"] == UA and user_data["client_ip_address"] == "198.51.100.23"
    assert user_data["fbp"] == "fb.1.1764000000000.1234567890"
    assert got["event"]["event_source_url"] == "https://shop.example/checkout"
    # And the caller gets 200 with Meta's count, the event id and trace id
    assert result.status == 200
    assert result.body == {
        "events_received": 1,
        "event_ids": ["order-1"],
        "fbtrace_id": got["fbtrace_id"],
        "warnings": [],
    }
    assert (result.received, result.sent, result.queued, result.rejected, result.dead_lettered) == (
        1,
        1,
        0,
        0,
        0,
    )
    assert result.match_keys == {"em": 1, "ph": 1, "fbp": 1, "fbc": 0, "external_id": 0, "ip_ua": 1}
    assert sink.retries == [] and sink.dead_letters == []


def test_generated_event_id_is_the_one_meta_got(graph_sandbox, client, tokens, sink):
    result = run(purchase(), client, tokens, sink)
    assert result.event_ids == [graph_sandbox.events()[0]["event"]["event_id"]]


def test_batch_with_an_invalid_event_sends_the_others_and_lists_the_refused_one(
    graph_sandbox, client, tokens, sink
):
    # Given three events, the middle one a Purchase without a currency
    bad = purchase(custom_data={"value": 10})
    payload = {"data": [purchase(event_id="a"), bad, purchase(event_id="c")]}
    # When they are relayed
    result = run(payload, client, tokens, sink)
    # Then two reach Meta, and the answer is 200 naming the refused one by index and field
    assert sorted(e["event"]["event_id"] for e in graph_sandbox.events()) == ["a", "c"]
    assert result.status == 200
    assert result.body["event_ids"] == ["a", "c"]
    assert [(e["index"], e["field"], e["code"]) for e in result.body["errors"]] == [
        (1, "custom_data.currency", "currency_required")
    ]
    assert (result.sent, result.rejected) == (2, 1)


def test_request_where_no_event_is_valid_is_a_400_and_nothing_is_sent(graph_sandbox, client, tokens, sink):
    # Given two events that both break rules (one by shape, one by value)
    payload = {"data": [purchase(event_name="purchase"), purchase(user_data={"em": {"$ne": 1}})]}
    # When they are relayed
    with pytest.raises(BadRequest) as raised:
        run(payload, client, tokens, sink)
    # Then it is a 400 naming both, and Meta saw nothing
    assert raised.value.status == 400
    assert [(e["index"], e["code"]) for e in raised.value.body()["errors"]] == [
        (0, "event_name_case"),
        (1, "user_data_value_invalid"),
    ]
    assert graph_sandbox.requests() == []


def test_body_limits_are_400_and_413(client, tokens, sink):
    with pytest.raises(BadRequest) as not_json:
        run(b"{oops", client, tokens, sink)
    with pytest.raises(PayloadTooLarge) as too_many:
        run({"data": [purchase()] * 1001}, client, tokens, sink)
    assert (not_json.value.status, too_many.value.status) == (400, 413)


def test_1000_events_go_in_one_request(graph_sandbox, client, tokens, sink):
    payload = {"data": [purchase(event_id=f"e{n}") for n in range(1000)]}
    result = run(payload, client, tokens, sink)
    assert result.body["events_received"] == 1000
    assert [r["events"] for r in graph_sandbox.requests()] == [1000]


def test_test_event_code_reaches_meta(graph_sandbox, client, tokens, sink):
    run({"data": [purchase()], "test_event_code": "TEST123"}, client, tokens, sink)
    assert graph_sandbox.events()[0]["test_event_code"] == "TEST123"


def test_warnings_name_index_field_and_code_only(client, tokens, sink):
    # Given a malformed email next to a good phone, and a millisecond event_time
    event = purchase(
        event_time=int(time.time() * 1000), user_data={"em": "canary@@bad", "ph": CANARIES["ph"]}
    )
    # When relayed
    result = run({"data": [purchase(), event]}, client, tokens, sink)
    # Then the event is sent, and the warnings say where and what, never the value
    assert result.status == 200 and result.sent == 2
    assert {"index": 1, "field": "event_time", "code": "event_time_ms"} in result.body["warnings"]
    assert {"index": 1, "field": "user_data.em", "code": "em_invalid"} in result.body["warnings"]
    assert_no_canary(json.dumps(result.body))


def test_named_pixel_is_used_when_configured(graph_sandbox, client, sink):
    # Given a relay for two pixels, the sandbox knowing the second too

    graph_sandbox.set_token(TOKEN, pixel_id="555")
    config = RelayConfig(pixel_ids=(PIXEL_ID, "555"), open_relay=True)
    # When one request names the second pixel in the body, another in the query
    run({"data": [purchase()], "pixel_id": "555"}, client, TokenSource([TOKEN]), sink, config)
    run(purchase(), client, TokenSource([TOKEN]), sink, config, query={"pixel_id": "555"})
    # Then both went to that pixel
    assert [e["pixel_id"] for e in graph_sandbox.events()] == ["555", "555"]


def test_unknown_pixel_is_forbidden_and_conflicting_pixels_are_a_400(graph_sandbox, client, tokens, sink):
    with pytest.raises(Forbidden) as forbidden:
        run(purchase(), client, tokens, sink, query={"pixel_id": "999"})
    with pytest.raises(BadRequest) as conflict:
        run({"data": [purchase()], "pixel_id": PIXEL_ID}, client, tokens, sink, query={"pixel_id": "999"})
    assert forbidden.value.status == 403 and forbidden.value.codes()[0]["field"] == "pixel_id"
    assert conflict.value.codes()[0]["code"] == "pixel_id_conflict"
    assert graph_sandbox.requests() == []


def test_meta_down_queues_hashed_events_and_answers_202(graph_sandbox, client, tokens, sink):
    # Given Meta answering 503
    graph_sandbox.add_fault({"kind": "5xx", "status": 503})
    # When two events are relayed, with a test code
    result = run(
        {"data": [purchase(event_id="a"), purchase(event_id="b")], "test_event_code": "T9"},
        client,
        tokens,
        sink,
    )
    # Then the caller gets 202 with both ids
    assert result.status == 202
    assert result.body["queued"] == 2 and result.body["event_ids"] == ["a", "b"]
    # And one retry message holds the ready events in the contract's shape, hashed only
    [message] = sink.retry_messages()
    assert set(message) == {
        "v",
        "pixel_id",
        "test_event_code",
        "data",
        "first_failure",
        "attempts",
        "last_error",
    }
    assert (message["v"], message["pixel_id"], message["test_event_code"], message["attempts"]) == (
        1,
        PIXEL_ID,
        "T9",
        1,
    )
    assert [e["event_id"] for e in message["data"]] == ["a", "b"]
    assert message["data"][0]["user_data"]["em"] == sha256_hex(CANARIES["em"])
    assert message["last_error"]["error_class"] == "transient" and message["last_error"]["status"] == 503
    assert_no_canary(*sink.retries)
    assert TOKEN not in sink.retries[0]
    assert result.meta_errors[0]["error_class"] == "transient"


def test_throttling_is_queued_too(graph_sandbox, client, tokens, sink):
    graph_sandbox.add_fault({"kind": "rate_limit", "code": 613})
    result = run(purchase(), client, tokens, sink)
    assert result.status == 202 and len(sink.retries) == 1


def test_expired_token_is_refreshed_once_and_the_events_go(graph_sandbox, client, sink):
    # Given a cached token that Meta no longer takes, and a secret that now holds the good one

    tokens = TokenSource(["expired-token", TOKEN])
    # When an event is relayed
    result = run(purchase(), client, tokens, sink)
    # Then the secret was read again once, and the event reached Meta
    assert tokens.calls == [(PIXEL_ID, False), (PIXEL_ID, True)]
    assert result.status == 200 and len(graph_sandbox.events()) == 1
    assert [e["error_class"] for e in result.meta_errors] == ["token"]


def test_token_still_bad_after_refresh_queues_the_events(graph_sandbox, client, sink):

    tokens = TokenSource(["expired-token", "still-wrong"])
    result = run(purchase(), client, tokens, sink)
    assert result.status == 202
    assert len(tokens.calls) == 2
    assert sink.retry_messages()[0]["last_error"]["error_class"] == "token"
    assert "expired-token" not in sink.retries[0] and "still-wrong" not in sink.retries[0]


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        (TokenMetaError("no access token in the secret", code=190), "token"),  # nothing configured yet
        (SecretUnavailable("capi-relay/meta", "ReadTimeoutError"), "secret"),  # the store is down
        (ConnectionError("secrets manager unreachable"), "secret"),
    ],
    ids=["no-token-configured", "secret-unreadable", "adapter-crash"],
)
def test_credential_source_failure_queues_the_events_with_its_class(
    graph_sandbox, client, sink, failure, error_class
):
    # Given a credential source that cannot give a token
    def credentials(pixel_id: str, force_refresh: bool) -> None:
        raise failure

    # When an event is relayed
    result = run(purchase(), client, credentials, sink)
    # Then it waits in the queue; a missing token counts as a token error (the token alarm), an
    # unreachable store as a secret error (not Meta's); Meta was never called
    assert result.status == 202 and result.queued == 1
    assert [e["error_class"] for e in result.meta_errors] == [error_class]
    assert sink.retry_messages()[0]["last_error"]["error_class"] == error_class
    assert graph_sandbox.requests() == []


def test_meta_and_queue_both_down_is_queue_unavailable(graph_sandbox, client, tokens):
    # Given Meta down and a queue that refuses messages

    graph_sandbox.add_fault({"kind": "5xx", "status": 502})
    # When an event is relayed
    with pytest.raises(QueueUnavailable) as raised:
        run(purchase(), client, tokens, RecordingSink(fail=True))
    # Then the caller is told 503 (and so to send again); the error holds nothing of the request
    assert raised.value.status == 503
    assert_no_canary(str(raised.value), repr(raised.value.__context__))


def test_meta_refusing_one_event_sends_the_rest_and_dead_letters_it(graph_sandbox, client, tokens, sink):
    # Given Meta refusing any request holding a "Poison" event
    graph_sandbox.add_fault({"kind": "reject", "event_name": "Poison", "subcode": 2804050})
    events = [
        purchase(event_id="a"),
        purchase(event_id="b"),
        purchase(event_name="Poison", event_id="p"),
        purchase(event_id="d"),
    ]
    # When the batch is relayed
    result = run({"data": events}, client, tokens, sink)
    # Then the three others reach Meta and the answer is 200, listing the refused one with Meta's code
    assert sorted(e["event"]["event_id"] for e in graph_sandbox.events()) == ["a", "b", "d"]
    assert result.status == 200 and result.body["event_ids"] == ["a", "b", "d"]
    [error] = result.body["errors"]
    assert (error["index"], error["code"], error["graph_code"], error["graph_subcode"]) == (
        2,
        "meta_rejected",
        100,
        2804050,
    )
    # And the refused event sits in the DLQ, hashed, with the reason
    [dead] = sink.dead_letter_messages()
    assert [e["event_id"] for e in dead["data"]] == ["p"]
    assert (
        dead["dead_letter"]["reason"] == "meta_rejected" and dead["dead_letter"]["graph_subcode"] == 2804050
    )
    assert (result.dead_lettered, result.rejected) == (1, 1)
    assert_no_canary(*sink.dead_letters, json.dumps(result.body))


def test_meta_refusing_every_event_answers_400(graph_sandbox, client, tokens, sink):
    graph_sandbox.add_fault({"kind": "reject", "event_name": "Purchase"})
    result = run(purchase(), client, tokens, sink)
    assert result.status == 400
    assert [e["code"] for e in result.body["errors"]] == ["meta_rejected"]
    assert len(sink.dead_letters) == 1


def test_ldu_default_applies_only_where_the_event_is_silent(graph_sandbox, client, tokens, sink):
    # Given a deployment with Limited Data Use on by default
    config = RelayConfig(
        pixel_ids=(PIXEL_ID,), data_processing_options=["LDU"], dpo_country=0, dpo_state=0, open_relay=True
    )
    # When one event says nothing and another opts out of LDU explicitly
    run(
        {"data": [purchase(event_id="silent"), purchase(event_id="own", data_processing_options=[])]},
        client,
        tokens,
        sink,
        config,
    )
    # Then only the silent one carries LDU
    sent = {e["event"]["event_id"]: e["event"] for e in graph_sandbox.events()}
    assert sent["silent"]["data_processing_options"] == ["LDU"]
    assert sent["silent"]["data_processing_options_country"] == 0
    assert sent["own"]["data_processing_options"] == []


def test_consent_denying_ad_storage_drops_the_cookie_identifiers(graph_sandbox, client, tokens, sink):
    run({"data": [purchase()], "consent": {"ad_storage": "denied"}}, client, tokens, sink)
    user_data = graph_sandbox.events()[0]["event"]["user_data"]
    assert "fbp" not in user_data and "em" in user_data


def test_locked_relay_refuses_a_caller_without_credentials(graph_sandbox, client, tokens, sink):
    config = RelayConfig(pixel_ids=(PIXEL_ID,), api_keys=("k-123",))
    with pytest.raises(Unauthorized):
        run(purchase(), client, tokens, sink, config)
    assert graph_sandbox.requests() == []


LOCKED = RelayConfig(
    pixel_ids=(PIXEL_ID,),
    api_keys=("k-123",),
    allowed_origins=("https://shop.example",),
    allowed_url_domains=("shop.example",),
)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[1, 2]", json.dumps({"data": []}).encode(), b"{" + b" " * 1_000_001 + b"}"],
    ids=["invalid-json", "empty", "list", "no-events", "too-large"],
)
def test_stranger_on_a_locked_relay_gets_401_before_its_body_is_looked_at(client, tokens, sink, body):
    # Given a locked relay and a server caller without credentials whose body is also broken
    # When it is relayed
    with pytest.raises(Unauthorized) as raised:
        run(body, client, tokens, sink, LOCKED, headers={"user-agent": UA})
    # Then the answer is the 401 about credentials, not the 400/413 about the body
    assert [e.code for e in raised.value.errors] == ["credentials_missing"]


def test_foreign_browser_gets_403_before_its_body_is_looked_at(client, tokens, sink):
    # Given a page on another site posting garbage
    headers = {"user-agent": UA, "origin": "https://evil.example"}
    # When it is relayed
    with pytest.raises(Forbidden) as raised:
        run(b"{not json", client, tokens, sink, LOCKED, headers=headers)
    # Then it is refused for its origin
    assert [e.code for e in raised.value.errors] == ["origin_not_allowed"]


@pytest.mark.parametrize(
    "headers",
    [
        {"x-api-key": "k-123"},
        {"origin": "https://shop.example", "referer": "https://shop.example/checkout"},
    ],
    ids=["api-key", "allowed-origin"],
)
def test_admitted_caller_with_a_broken_body_gets_the_400_naming_the_body(client, tokens, sink, headers):
    # Given a caller the relay admits, sending a body that is not JSON
    # When it is relayed
    with pytest.raises(BadRequest) as raised:
        run(b"{not json", client, tokens, sink, LOCKED, headers={"user-agent": UA, **headers})
    # Then the answer is about the body (the caller may fix it), not about who it is
    assert type(raised.value) is BadRequest
    assert [e.code for e in raised.value.errors] == ["invalid_json"]


def test_allowed_browser_still_has_its_event_urls_checked_after_parsing(graph_sandbox, client, tokens, sink):
    # Given an allowed origin sending an event for a page on another domain
    headers = {"user-agent": UA, "origin": "https://shop.example"}
    event = purchase(event_source_url="https://evil.example/checkout")
    # When it is relayed
    with pytest.raises(Forbidden) as raised:
        run({"data": [event]}, client, tokens, sink, LOCKED, headers=headers)
    # Then the event's URL is refused by index, and nothing reached Meta
    assert [(e.index, e.code) for e in raised.value.errors] == [(0, "url_domain_not_allowed")]
    assert graph_sandbox.requests() == []


def test_signed_server_caller_may_send_for_any_page(graph_sandbox, client, tokens, sink):
    # Given a relay with an HMAC secret and a server signing its body
    from capi_relay.auth import sign

    config = RelayConfig(pixel_ids=(PIXEL_ID,), hmac_secret="s" * 32, allowed_url_domains=("shop.example",))
    body = json.dumps(purchase(event_source_url="https://partner.example/thanks")).encode()
    stamp = int(time.time())
    signature = sign("s" * 32, stamp, body)
    headers = {"user-agent": UA, "x-capi-timestamp": str(stamp), "x-capi-signature": signature}
    # When it is relayed
    result = run(body, client, tokens, sink, config, headers=headers)
    # Then it is sent: valid credentials skip the URL-domain check
    assert result.status == 200 and len(graph_sandbox.events()) == 1


def test_no_canary_in_errors_of_a_refused_request(client, tokens, sink):
    # Given events whose identifiers are canaries but whose other fields are wrong
    events = [purchase(event_time="soon"), purchase(action_source="web", user_data={"em": ["x"] * 101})]
    with pytest.raises(BadRequest) as raised:
        run({"data": events}, client, tokens, sink)
    assert_no_canary(json.dumps(raised.value.body()), str(raised.value))


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
FIELDS = [
    "event_name",
    "event_time",
    "event_id",
    "action_source",
    "event_source_url",
    "user_data",
    "custom_data",
    "opt_out",
    "data_processing_options",
    "data_processing_options_country",
    "data_processing_options_state",
    "pixel_id",
    "test_event_code",
    "consent",
    "data",
]
USER_DATA = st.dictionaries(
    st.sampled_from(
        [
            "em",
            "ph",
            "fn",
            "db",
            "zp",
            "fbc",
            "fbp",
            "client_ip_address",
            "client_user_agent",
            "external_id",
            "x",
        ]
    ),
    ANY_JSON,
    max_size=4,
)
EVENTS = st.fixed_dictionaries(
    {},
    optional={
        **{f: ANY_JSON for f in FIELDS},
        "user_data": USER_DATA | ANY_JSON,
        "event_name": st.sampled_from(["Purchase", "purchase", "Lead", ""]) | ANY_JSON,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=EVENTS | st.fixed_dictionaries({"data": st.lists(EVENTS, max_size=3)}) | ANY_JSON)
def test_any_json_body_is_answered_or_refused_never_crashes(scripted_graph, payload):
    # Given any JSON body at all (Meta, here, takes whatever reaches it)

    client = MetaClient(scripted_graph.url, "v24.0", timeout=(2, 2))
    # When it is relayed
    try:
        result = run(payload, client, TokenSource([TOKEN]), RecordingSink())
    except Refused as refused:  # 400, 401, 403, 413: the caller's fault, said in JSON
        assert refused.status in (400, 401, 403, 413)
        json.dumps(refused.body())
    else:
        # Then a result is a JSON answer with a status DESIGN.md allows
        assert result.status in (200, 202, 400)
        json.dumps(result.body)
    finally:
        client.close()
