"""redeliver_message(): one retry message resent through the Graph sandbox, per docs/CONTRACTS.md."""

from __future__ import annotations

import json
import time

import pytest

from capi_relay import redeliver_message
from capi_relay.errors import TokenMetaError, TransientMetaError
from capi_relay.hashing import sha256_hex
from capi_relay.redeliver import RetryBatch, RetryPolicy, attempt_number
from tests.unit.doubles import TokenSource

PIXEL_ID = "1234567890"  # what tests/conftest.py's graph sandbox knows
TOKEN = "sandbox-token-3c9e51"
DAY = 86400


def ready(event_id: str, age_s: int = 60, name: str = "Lead", source: str = "system_generated") -> dict:
    return {
        "event_name": name,
        "event_time": int(time.time()) - age_s,
        "event_id": event_id,
        "action_source": source,
        "user_data": {"em": sha256_hex(f"{event_id}@example.com")},
    }


def message(*events: dict, attempts: int = 1, test_event_code: str | None = None) -> dict:
    return {
        "v": 1,
        "pixel_id": PIXEL_ID,
        "test_event_code": test_event_code,
        "data": list(events),
        "first_failure": int(time.time()) - 600,
        "attempts": attempts,
        "last_error": {
            "error_class": "transient",
            "status": 503,
            "graph_code": 2,
            "graph_subcode": None,
            "fbtrace_id": "t",
        },
    }


def resend(msg: dict, client, tokens, sink):
    return redeliver_message(msg, client=client, credentials=tokens, sink=sink, now=time.time())


def test_queued_events_are_sent(graph_sandbox, client, tokens, sink):
    # Given a retry message with two ready events and a test code
    # When it is redelivered
    result = resend(message(ready("a"), ready("b"), test_event_code="T1"), client, tokens, sink)
    # Then Meta has both, under the message's pixel and test code, and nothing was queued again
    assert [
        (e["event"]["event_id"], e["pixel_id"], e["test_event_code"]) for e in graph_sandbox.events()
    ] == [("a", PIXEL_ID, "T1"), ("b", PIXEL_ID, "T1")]
    assert (result.sent, result.dead_lettered, result.requeued) == (2, 0, 0)
    assert sink.retries == [] and sink.dead_letters == []


def test_expired_events_go_to_the_dlq_and_the_rest_is_sent(graph_sandbox, client, tokens, sink):
    # Given one event past Meta's 7 days, one physical_store event at 30 days (its window is 62), one fresh
    msg = message(
        ready("old", age_s=7 * DAY + 5), ready("store", age_s=30 * DAY, source="physical_store"), ready("new")
    )
    # When it is redelivered
    result = resend(msg, client, tokens, sink)
    # Then the old one is dead-lettered as expired, never sent; the others reach Meta
    [dead] = sink.dead_letter_messages()
    assert [e["event_id"] for e in dead["data"]] == ["old"]
    assert dead["dead_letter"]["reason"] == "expired" and dead["pixel_id"] == PIXEL_ID
    assert sorted(e["event"]["event_id"] for e in graph_sandbox.events()) == ["new", "store"]
    assert (result.sent, result.dead_lettered) == (2, 1)


def test_only_expired_events_send_nothing(graph_sandbox, client, tokens, sink):
    result = resend(message(ready("old", age_s=8 * DAY)), client, tokens, sink)
    assert (result.sent, result.dead_lettered) == (0, 1)
    assert graph_sandbox.requests() == []


def test_meta_still_down_raises_so_the_record_is_retried(graph_sandbox, client, tokens, sink):
    # Given Meta still answering 503
    graph_sandbox.add_fault({"kind": "5xx", "status": 503})
    # When a message is redelivered
    with pytest.raises(TransientMetaError):
        resend(message(ready("a"), ready("b")), client, tokens, sink)
    # Then nothing was queued or dead-lettered here: SQS keeps the message and backs off
    assert sink.retries == [] and sink.dead_letters == []


def test_token_still_bad_after_one_refresh_raises_token_error(graph_sandbox, client, sink):

    tokens = TokenSource(["stale", "stale-too"])
    with pytest.raises(TokenMetaError):
        resend(message(ready("a")), client, tokens, sink)
    assert tokens.calls == [(PIXEL_ID, False), (PIXEL_ID, True)]


def test_refreshed_token_sends_the_events(graph_sandbox, client, sink):

    tokens = TokenSource(["stale", TOKEN])
    result = resend(message(ready("a")), client, tokens, sink)
    assert result.sent == 1 and len(graph_sandbox.events()) == 1


def test_refused_event_is_isolated_and_dead_lettered_with_meta_code(graph_sandbox, client, tokens, sink):
    # Given Meta refusing any request that holds a "Poison" event
    graph_sandbox.add_fault({"kind": "reject", "event_name": "Poison", "subcode": 2804019})
    msg = message(*(ready(f"e{n}", name="Poison" if n == 5 else "Lead") for n in range(8)))
    # When the message is redelivered
    result = resend(msg, client, tokens, sink)
    # Then the seven others reach Meta; the bad one sits in the DLQ with Meta's code
    assert len(graph_sandbox.events()) == 7
    [dead] = sink.dead_letter_messages()
    assert [e["event_id"] for e in dead["data"]] == ["e5"]
    assert dead["dead_letter"]["reason"] == "meta_rejected"
    assert (dead["dead_letter"]["graph_code"], dead["dead_letter"]["graph_subcode"]) == (100, 2804019)
    assert (result.sent, result.dead_lettered) == (7, 1)


def test_partial_progress_requeues_only_the_rest(graph_sandbox, client, tokens, sink):
    # Given an expired event, and Meta down for the fresh ones
    graph_sandbox.add_fault({"kind": "5xx", "status": 503})
    msg = message(ready("old", age_s=8 * DAY), ready("a"), attempts=2)
    # When redelivered
    result = resend(msg, client, tokens, sink)
    # Then the expired one is settled (DLQ) and only the fresh one is queued again, one attempt later
    [again] = sink.retry_messages()
    assert [e["event_id"] for e in again["data"]] == ["a"]
    assert again["attempts"] == 3 and again["last_error"]["error_class"] == "transient"
    assert (result.sent, result.dead_lettered, result.requeued) == (0, 1, 1)


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"pixel_id": PIXEL_ID},
        {"pixel_id": PIXEL_ID, "data": "x"},
        {"pixel_id": 1, "data": []},
        {"pixel_id": PIXEL_ID, "data": [1]},
    ],
)
def test_a_message_that_is_not_ours_is_refused(bad, client, tokens, sink):
    with pytest.raises(ValueError):
        resend(bad, client, tokens, sink)


# --- the retry policy: RetryBatch decides, the handler carries out -----------------------------


def batch_of(client, tokens, sink, max_attempts: int = 12, remaining=None) -> RetryBatch:
    return RetryBatch(
        client=client,
        credentials=tokens,
        sink=sink,
        policy=RetryPolicy(max_attempts=max_attempts, base_delay_s=30),
        clock=time.time,
        remaining=remaining,
    )


def body(*events: dict, attempts: int = 1) -> str:
    return json.dumps(message(*events, attempts=attempts))


def test_a_delivered_record_is_done(graph_sandbox, client, tokens, sink):
    outcome = batch_of(client, tokens, sink).handle(body(ready("a")), 1)
    assert outcome.retry_in_s is None and outcome.result.sent == 1 and outcome.errors == []


def test_a_failing_record_backs_off_by_its_attempt_and_counts_its_error(graph_sandbox, client, tokens, sink):
    # Given Meta down, and a message re-queued once before (attempts 2) on its third receive
    graph_sandbox.add_fault({"kind": "5xx"})
    outcome = batch_of(client, tokens, sink).handle(body(ready("a"), attempts=2), 3)
    # Then it is attempt 4: hidden 30 × 2^3 s, failed, its error counted once
    assert outcome.retry_in_s == 240 and outcome.fields["attempt"] == 4
    assert [e.error_class for e in outcome.errors] == ["transient"] and sink.dead_letters == []


def test_the_last_attempt_goes_to_the_dlq_and_is_done(graph_sandbox, client, tokens, sink):
    graph_sandbox.add_fault({"kind": "5xx"})
    outcome = batch_of(client, tokens, sink, max_attempts=3).handle(body(ready("a")), 3)
    assert outcome.retry_in_s is None and outcome.result.dead_lettered == 1
    assert sink.dead_letter_messages()[0]["dead_letter"]["reason"] == "max_attempts"


@pytest.mark.parametrize(
    "fault",
    [{"kind": "rate_limit", "code": 80003, "transient": False}, {"kind": "rate_limit", "code": 613}],
    ids=["ads-throttling", "rate-limit"],
)
def test_throttling_stops_the_batch_and_the_rest_backs_off_without_a_call(
    graph_sandbox, client, tokens, sink, fault
):
    # Given Meta throttling
    graph_sandbox.add_fault(fault)
    batch = batch_of(client, tokens, sink)
    # When three records are handled
    outcomes = [batch.handle(body(ready(f"e{n}")), 1) for n in range(3)]
    # Then Meta was asked once; every record backs off; the throttle counts once
    assert len(graph_sandbox.requests()) == 1
    assert [o.retry_in_s for o in outcomes] == [30, 30, 30]
    assert [len(o.errors) for o in outcomes] == [1, 0, 0]


def test_a_503_does_not_stop_the_batch(graph_sandbox, client, tokens, sink):
    # Given Meta failing one call fast (a 503 answer, not throttling or a timeout)
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    batch = batch_of(client, tokens, sink)
    outcomes = [batch.handle(body(ready(f"e{n}")), 1) for n in range(2)]
    # Then the next record is still tried, and goes
    assert [o.retry_in_s for o in outcomes] == [30, None] and len(graph_sandbox.events()) == 1


def test_no_time_left_backs_the_record_off_without_a_call(graph_sandbox, client, tokens, sink):
    outcome = batch_of(client, tokens, sink, remaining=lambda: 2.0).handle(body(ready("a")), 1)
    assert outcome.retry_in_s == 30 and graph_sandbox.requests() == [] and outcome.errors == []


def test_a_body_that_is_not_a_retry_message_is_dead_lettered_as_malformed(client, tokens, sink):
    outcome = batch_of(client, tokens, sink).handle("not json {", 1)
    assert outcome.retry_in_s is None
    assert sink.dead_letter_messages() == [
        {
            "v": 1,
            "body": "not json {",
            "dead_letter": {"reason": "malformed", "at": pytest.approx(time.time(), abs=5)},
        }
    ]


def test_attempts_continue_across_a_requeue():
    assert attempt_number("1", {"attempts": 3}) == 3
    assert attempt_number(2, {"attempts": True}) == 2  # not a count: ignored
    assert attempt_number(0, None) == 1


def test_throttling_after_partial_progress_still_stops_the_batch(graph_sandbox, client, tokens, sink):
    # Given a message of 1001 events (two Graph requests) and Meta throttling the second request only
    graph_sandbox.add_fault({"kind": "rate_limit", "code": 80003, "transient": False, "event_name": "Late"})
    events = [ready(f"e{n}") for n in range(1000)] + [ready("late", name="Late")]
    batch = batch_of(client, tokens, sink)
    # When it is handled, then another record of the same batch
    first = batch.handle(body(*events), 1)
    calls = len(graph_sandbox.requests())
    second = batch.handle(body(ready("b")), 1)
    # Then the first is settled (1000 sent, the throttled one re-queued) and the next is not tried
    assert first.retry_in_s is None and (first.result.sent, first.result.requeued) == (1000, 1)
    assert second.retry_in_s == 30 and len(graph_sandbox.requests()) == calls
