"""The `make run` stack over HTTP, as a user drives it: raw events in, hashed events at the Graph sandbox.

Faults come from the sandbox (5xx, token expiry, permanent rejection); the queues are read from the
moto server the stack printed. Each test tags its events with its own test_event_code, so a stray
redelivery from an earlier test can never be counted.
"""

from __future__ import annotations

import hashlib
import json
import signal
import time
import urllib.request
import uuid
from collections import Counter

import pytest

from local import aws
from tests.conftest import META_TOKEN, PIXEL_ID
from tests.e2e.conftest import BOTH_FRONT_DOORS
from tests.e2e.local_stack import LocalStackProcess, wait_for

CANARY_EMAIL = " Canary.7F3A.e2e@Example.com "
CANARY = {
    "em": CANARY_EMAIL,
    "ph": "+1 202-555-0147",
    "fn": "Canaryfirst",
    "ln": "Canarylast",
    "ct": "Canaryville",
    "external_id": "canary-ext-77",
}
FBP = "fb.1.1700000000000.1234567890"
UA = "Mozilla/5.0 (X11; Linux x86_64) e2e-test"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def code() -> str:
    return "E2E" + uuid.uuid4().hex[:10].upper()


def event(name: str = "Purchase", event_id: str | None = None, **changes: object) -> dict:
    body = {
        "event_name": name,
        "event_id": event_id or str(uuid.uuid4()),
        "event_source_url": "https://shop.example/thanks?fbclid=IwAR2e2eClickId",
        "user_data": dict(CANARY),
        "custom_data": {"value": 19.99, "currency": "EUR"},
    }
    body.update(changes)
    return body


def aws_state(stack: LocalStackProcess) -> str:
    """Everything the moto server holds (queues with in-flight messages, DLQ, secret, metrics)."""
    with urllib.request.urlopen(stack.info["aws_endpoint"] + "/moto-api/data.json", timeout=10) as response:
        return response.read().decode()


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        lowered = text.lower()
        assert "canary" not in lowered, "a raw customer-information value left the ingest handler"


def delivered_ids(stack: LocalStackProcess, test_code: str) -> Counter:
    return Counter(e["event"]["event_id"] for e in stack.graph_events(test_code))


# --- the happy path --------------------------------------------------------------------------


@BOTH_FRONT_DOORS
def test_raw_event_arrives_hashed_enriched_and_no_raw_value_is_kept_anywhere(local_stack):
    # Given a browser-like request: raw customer data, the Pixel's cookie, an fbclid in the page URL
    test_code, event_id = code(), str(uuid.uuid4())
    payload = {"data": [event(event_id=event_id)], "test_event_code": test_code}
    # When it is posted to the relay
    response = local_stack.post_events(payload, headers={"User-Agent": UA, "Cookie": f"_fbp={FBP}"})
    # Then Meta got it at once, hashed exactly as Meta expects and enriched from the request
    assert response.status_code == 200, response.text
    assert response.json()["event_ids"] == [event_id]
    [received] = local_stack.graph_events(test_code)
    sent = received["event"]
    assert received["pixel_id"] == PIXEL_ID
    assert sent["event_id"] == event_id
    assert sent["action_source"] == "website"
    user_data = sent["user_data"]
    assert user_data["em"] in (sha(CANARY_EMAIL.strip().lower()), [sha(CANARY_EMAIL.strip().lower())])
    assert user_data["ph"] in (sha("12025550147"), [sha("12025550147")])
    assert user_data["fbp"] == FBP
    assert user_data["fbc"] == f"fb.1.{sent['event_time'] * 1000}.IwAR2e2eClickId"
    assert user_data["client_ip_address"] == "127.0.0.1"
    assert user_data["client_user_agent"] == UA
    # And no raw value is in what Meta got, the response, the AWS state or the stack's log; nor the token
    assert_no_canary(json.dumps(received), response.text, aws_state(local_stack), local_stack.log())
    assert META_TOKEN not in local_stack.log()
    assert not any(r["token_in_query"] for r in local_stack.sandbox("GET", "/_sandbox/requests"))


@BOTH_FRONT_DOORS
def test_metrics_reach_the_local_cloudwatch(local_stack):
    # Given one event relayed
    assert local_stack.post_events(event(), headers={"User-Agent": UA}).status_code == 200

    # When CloudWatch in the moto server is asked for the relay's metrics
    def names() -> set[str]:
        listed = local_stack.client("cloudwatch").list_metrics(Namespace="CapiRelay")["Metrics"]
        return {m["MetricName"] for m in listed}

    # Then the EMF the handler printed arrived there, as CloudWatch Logs would extract it
    assert wait_for(lambda: {"EventsReceived", "EventsSent"} <= names(), timeout=10, what="metrics")


# --- faults ------------------------------------------------------------------------------------


def test_burst_while_30_percent_of_graph_calls_fail_loses_no_event(local_stack):
    # Given Meta fails 30 % of calls with a 5xx (seeded, so the run repeats)
    fault = {"kind": "5xx", "status": 503, "rate": 0.3, "seed": 42}
    local_stack.sandbox("POST", "/_sandbox/faults", json=fault)
    test_code = code()
    singles = [event(event_id=f"burst-{i}") for i in range(100)]
    batches = [[event(event_id=f"burst-b{b}-{i}") for i in range(20)] for b in range(5)]
    # When 200 events arrive in a burst: 100 single requests and 5 batches of 20
    statuses = [
        local_stack.post_events(
            {"data": [e], "test_event_code": test_code}, headers={"User-Agent": UA}
        ).status_code
        for e in singles
    ]
    statuses += [
        local_stack.post_events(
            {"data": b, "test_event_code": test_code}, headers={"User-Agent": UA}
        ).status_code
        for b in batches
    ]
    # Then every request was taken (sent or queued), some only by queueing
    assert set(statuses) <= {200, 202}, Counter(statuses)
    assert 202 in statuses
    # And after retries every event reached Meta, none is lost, nothing went to the DLQ
    expected = {e["event_id"] for e in singles} | {e["event_id"] for b in batches for e in b}
    wait_for(
        lambda: set(delivered_ids(local_stack, test_code)) >= expected,
        timeout=90,
        what="all 200 events at the sandbox",
    )
    assert set(delivered_ids(local_stack, test_code)) == expected
    assert local_stack.dead_letters() == []
    assert_no_canary(aws_state(local_stack))


def test_meta_that_got_the_event_but_answered_500_sees_it_again_with_the_same_event_id(local_stack):
    # Given Meta stores the next request's events yet answers 500 (the caller cannot know)
    local_stack.sandbox(
        "POST", "/_sandbox/faults", json={"kind": "5xx", "status": 500, "count": 1, "accept": True}
    )
    test_code, event_id = code(), str(uuid.uuid4())
    # When an event is posted
    response = local_stack.post_events(
        {"data": [event(event_id=event_id)], "test_event_code": test_code}, headers={"User-Agent": UA}
    )
    # Then it is queued, resent, and Meta holds two copies that share event_id and content (Meta dedups)
    assert response.status_code == 202, response.text
    copies = wait_for(
        lambda: (
            [e["event"] for e in local_stack.graph_events(test_code)]
            if len(local_stack.graph_events(test_code)) >= 2
            else None
        ),
        timeout=30,
        what="the resend",
    )
    assert {c["event_id"] for c in copies} == {event_id}
    assert copies[0] == copies[1]


@BOTH_FRONT_DOORS
def test_expired_token_holds_events_in_the_queue_until_the_secret_is_updated(local_stack):
    # Given the token was rotated at Meta but the relay's secret still holds the old one
    local_stack.sandbox("POST", "/_sandbox/token", json={"token": "rotated-token-e2e"})
    test_code = code()
    ids = [f"token-{i}" for i in range(3)]
    # When events arrive
    payload = {"data": [event(event_id=i) for i in ids], "test_event_code": test_code}
    response = local_stack.post_events(payload, headers={"User-Agent": UA})
    # Then they are accepted into the retry queue, not sent, not dead-lettered
    assert response.status_code == 202, response.text
    assert response.json()["queued"] == 3
    assert local_stack.queue_counts("retry") >= 1
    assert local_stack.graph_events(test_code) == []
    assert_no_canary(aws_state(local_stack))
    # When the operator puts the new token into the secret
    aws.put_secret(
        local_stack.info["aws_endpoint"], local_stack.info["secret_id"], aws.secret_value("rotated-token-e2e")
    )
    # Then the retry handler refreshes it and the events go out; the queues end empty
    wait_for(
        lambda: set(delivered_ids(local_stack, test_code)) >= set(ids),
        timeout=60,
        what="the held events at the sandbox",
    )
    wait_for(lambda: local_stack.queue_counts("retry") == 0, timeout=10, what="an empty retry queue")
    assert local_stack.dead_letters() == []
    assert "rotated-token-e2e" not in local_stack.log()


@BOTH_FRONT_DOORS
def test_event_meta_rejects_goes_to_the_dlq_with_a_reason_and_its_batch_mates_are_delivered(local_stack):
    # Given Meta permanently refuses any request that holds a Lead
    local_stack.sandbox("POST", "/_sandbox/faults", json={"kind": "reject", "event_name": "Lead"})
    test_code = code()
    batch = [
        event("Purchase", "rej-purchase"),
        event("Lead", "rej-lead", custom_data={}),
        event("ViewContent", "rej-view", custom_data={}),
    ]
    # When the three arrive in one request
    payload = {"data": batch, "test_event_code": test_code}
    response = local_stack.post_events(payload, headers={"User-Agent": UA})
    # Then the good two reach Meta, the Lead is refused by index, and it sits in the DLQ with the reason
    assert response.status_code == 200, response.text
    [refusal] = response.json()["errors"]
    assert (refusal["index"], refusal["code"], refusal["graph_code"]) == (1, "meta_rejected", 100)
    assert response.json()["event_ids"] == ["rej-purchase", "rej-view"]
    wait_for(
        lambda: set(delivered_ids(local_stack, test_code)) >= {"rej-purchase", "rej-view"},
        timeout=30,
        what="the two good events",
    )
    assert "rej-lead" not in delivered_ids(local_stack, test_code)
    letters = wait_for(local_stack.dead_letters, timeout=30, what="the dead letter")
    bodies = [json.loads(m["Body"]) for m in letters]
    [letter] = [b for b in bodies if any(e.get("event_id") == "rej-lead" for e in b["data"])]
    assert letter["dead_letter"]["reason"] == "meta_rejected"
    assert letter["dead_letter"]["graph_code"] == 100
    assert [e["event_id"] for e in letter["data"]] == ["rej-lead"]
    assert_no_canary(*(m["Body"] for m in letters))


# --- malformed requests --------------------------------------------------------------------------

NOW = int(time.time())
MALFORMED = {
    "not-json": b"{this is not json",
    "json-array-of-numbers": b"[1, 2, 3]",
    "json-string": b'"Purchase"',
    "event-name-number": json.dumps(event(event_name=12)).encode(),
    "user-data-string": json.dumps(event(user_data="canary@example.com")).encode(),
    "object-in-user-data": json.dumps(event(user_data={"em": {"$ne": "canary-nosql"}})).encode(),
    "custom-data-list": json.dumps(event(custom_data=["canary"])).encode(),
    "event-time-8-days-old": json.dumps(event(event_time=NOW - 8 * 86400)).encode(),
    "event-time-future": json.dumps(event(event_time=NOW + 86400)).encode(),
    "event-time-text": json.dumps(event(event_time="yesterday")).encode(),
    "purchase-without-currency": json.dumps(event(custom_data={"value": 5})).encode(),
    "action-source-unknown": json.dumps(event(action_source="carrier-pigeon")).encode(),
    "data-not-a-list": json.dumps({"data": {"event_name": "Purchase"}}).encode(),
    "too-many-events": json.dumps({"data": [event(event_id=str(i)) for i in range(1001)]}).encode(),
    "body-over-1-mb": json.dumps(
        event(custom_data={"value": 1, "currency": "EUR", "blob": "x" * (1024 * 1024 + 10)})
    ).encode(),
    "too-deep": (
        '{"data":[{"event_name":"Lead","custom_data":' + '{"a":' * 20 + "1" + "}" * 20 + "}]}"
    ).encode(),
    "string-too-long": json.dumps(
        event(custom_data={"value": 1, "currency": "EUR", "content_name": "y" * 5000})
    ).encode(),
    "binary-garbage": bytes(range(256)),
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_request_gets_a_structured_4xx_and_the_stack_keeps_serving(local_stack, body):
    # Given a request that is malformed in one way
    # When it is posted
    headers = {"Content-Type": "application/json", "User-Agent": UA}
    response = local_stack.post_events(data=body, headers=headers)
    # Then it is refused with 4xx and a JSON list of errors naming field and code, never a value
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    errors = response.json()["errors"]
    assert errors and all({"field", "code", "message"} <= set(e) for e in errors)
    assert_no_canary(response.text, local_stack.log())
    # And the stack still serves a valid event
    assert local_stack.post_events(event(), headers={"User-Agent": UA}).status_code == 200


def test_body_over_the_api_gateway_limit_gets_413_before_the_handler(local_stack):
    # Given a body over HTTP API's 10 MB payload limit
    # When it is posted
    response = local_stack.post_events(data=b"x" * (10 * 1024 * 1024 + 1))
    # Then API Gateway's 413 comes back and the stack keeps serving
    assert response.status_code == 413
    assert local_stack.post_events(event(), headers={"User-Agent": UA}).status_code == 200


@BOTH_FRONT_DOORS
def test_cors_preflight_answers_allowed_origins_only(local_stack):
    # Given the stack's default allow-list (its own origin)
    allowed, other = local_stack.info["api"], "https://evil.example"
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    # When a browser asks from an allowed origin and from another one
    url = local_stack.info["events_url"]
    ok = local_stack.session().options(url, headers={"Origin": allowed, **preflight}, timeout=10)
    refused = local_stack.session().options(url, headers={"Origin": other, **preflight}, timeout=10)
    # Then only the allowed origin gets CORS headers (the browser blocks the other)
    assert ok.headers.get("access-control-allow-origin") == allowed
    assert "content-type" in ok.headers.get("access-control-allow-headers", "")
    assert "access-control-allow-origin" not in refused.headers


# --- Ctrl-C --------------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_stops_every_server_and_process(sig):
    # Given a freshly started stack that has served a request
    stack = LocalStackProcess(META_ACCESS_TOKEN=META_TOKEN, META_PIXEL_ID=PIXEL_ID)
    stack.start()
    try:
        assert stack.post_events(event(), headers={"User-Agent": UA}).status_code == 200
    finally:
        # When it gets Ctrl-C (SIGINT) or SIGTERM
        exit_code = stack.stop(sig=sig)
    # Then it exits cleanly and nothing is left running or listening
    assert exit_code == 0, stack.log()[-2000:]
    assert stack.leftovers() == []
    stack.remove_log()


def test_a_function_url_answers_404_for_other_paths_and_methods_and_keeps_serving(request):
    # Given the stack behind a function URL, which sends every method and path to the function
    stack = request.getfixturevalue("function_url_stack_server")
    stack.reset(META_TOKEN)
    base, session = stack.info["api"], stack.session()
    # When a stranger probes other paths and methods
    answers = [
        session.post(f"{base}/admin", json=event(), timeout=10),
        session.put(f"{base}/events", json=event(), timeout=10),
        session.post(f"{base}/", json=event(), timeout=10),
    ]
    # Then each gets 404, nothing reaches Meta, and POST /events still works
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert all(a.json() == {"message": "Not Found"} for a in answers)
    assert stack.sandbox("GET", "/_sandbox/events") == []
    assert stack.post_events(event(), headers={"User-Agent": UA}).status_code == 200
    assert stack.info["front_door"] == "FunctionUrl"
