"""The retry queue through the real retry handler: delivered, failed alone, backed off, dead-lettered."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from capi_relay.redeliver import MAX_BACKOFF_S, RetryPolicy
from tests.integration.lambda_events import emitted_metrics, http_event, sample

DAY_S = 24 * 3600


def queue_counts(local_aws) -> tuple[int, int]:
    """(visible, in flight) messages of the retry queue."""
    attributes = local_aws.client("sqs").get_queue_attributes(
        QueueUrl=local_aws.names["retry_queue_url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def queue_while_meta_fails(
    handlers, graph_sandbox, sample_name: str = "single.json", times: int = 1
) -> list[str]:
    """Send `times` requests while Meta answers 503: each leaves one retry message; their event ids."""
    graph_sandbox.add_fault({"kind": "5xx", "count": times})
    ids = []
    for _ in range(times):
        status, body = handlers.ingest(http_event(sample_name=sample_name))
        assert status == 202
        ids += body["event_ids"]
    graph_sandbox.clear_faults()
    return ids


def put_retry_message(local_aws, **changes) -> None:
    """A retry message as the ingest function writes it (the sample's body), with `changes` to its event."""
    message = json.loads(sample("sqs_retry_batch.json")["Records"][0]["body"])
    message["data"][0].update(changes)
    local_aws.client("sqs").send_message(
        QueueUrl=local_aws.names["retry_queue_url"], MessageBody=json.dumps(message)
    )


def test_queued_event_is_delivered_by_the_retry_function(handlers, graph_sandbox, local_aws, capsys):
    # Given an event queued while Meta was failing, and Meta back
    [event_id] = queue_while_meta_fails(handlers, graph_sandbox)
    # When the retry function gets the queue's messages
    messages = handlers.receive()
    response = handlers.retry(messages)
    # Then the event reaches Meta, no record failed, and the queue is empty
    assert response == {"batchItemFailures": []}
    assert [row["event"]["event_id"] for row in graph_sandbox.events()] == [event_id]
    assert queue_counts(local_aws) == (0, 0)
    assert emitted_metrics(capsys.readouterr().out)["EventsSent"] == 1


def test_one_failing_record_is_the_only_batch_item_failure(handlers, graph_sandbox, local_aws):
    # Given two queued messages, and Meta failing the next call only
    queue_while_meta_fails(handlers, graph_sandbox, times=2)
    messages = handlers.receive()
    assert len(messages) == 2
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    # When the retry function handles both in one batch
    response = handlers.retry(messages)
    # Then only the first record is reported failed; the second was delivered and deleted
    assert response == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    assert len(graph_sandbox.events()) == 1
    assert queue_counts(local_aws) == (0, 1)  # the failed one, hidden for its backoff


def hidden_for_s(local_aws, message_id: str) -> float:
    """How long SQS will keep a message invisible from now on (moto server's state API: visible_at)."""
    url = f"{local_aws.endpoint}/moto-api/data.json"
    with urllib.request.urlopen(url, timeout=10) as response:
        state = json.load(response)
    visible_at = max(m["visible_at"] for m in state["sqs"]["Message"] if m["id"] == message_id)
    return visible_at / 1000 - time.time()


def test_transient_failure_hides_the_record_for_a_backoff_that_grows_with_receives(
    handlers, graph_sandbox, local_aws
):
    # Given two queued events, the default 30 s backoff base, and Meta failing every call
    queue_while_meta_fails(handlers, graph_sandbox, times=2)
    first, fifth = handlers.receive()
    graph_sandbox.add_fault({"kind": "5xx"})
    # When one fails on its first receive and the other on its fifth
    failed = handlers.retry([first], receive_count=1)["batchItemFailures"]
    failed += handlers.retry([fifth], receive_count=5)["batchItemFailures"]
    # Then both records failed, hidden for 30 s and 30 × 2^4 = 480 s (give or take this test's runtime)
    assert len(failed) == 2
    assert 20 < hidden_for_s(local_aws, first["MessageId"]) <= 30
    assert 470 < hidden_for_s(local_aws, fifth["MessageId"]) <= 480


def test_backoff_doubles_per_attempt_and_stays_under_the_sqs_limit():
    # Given the default 30 s base
    # When the delay is computed for attempts 1 to 16
    delays = [RetryPolicy(base_delay_s=30).backoff_s(attempt) for attempt in range(1, 17)]
    # Then it doubles until the cap, which is under SQS's 12 h visibility maximum
    assert delays[:5] == [30, 60, 120, 240, 480]
    assert RetryPolicy(base_delay_s=0.2).backoff_s(1) == 1  # a tiny base still waits a whole second
    assert delays == sorted(delays) and delays[-1] == MAX_BACKOFF_S < 12 * 3600
    assert RetryPolicy(base_delay_s=30).backoff_s(10_000) == MAX_BACKOFF_S


def test_last_attempt_goes_to_the_dlq_with_reason_max_attempts(handlers, graph_sandbox, local_aws, capsys):
    # Given a queued event and Meta still failing
    [event_id] = queue_while_meta_fails(handlers, graph_sandbox)
    graph_sandbox.add_fault({"kind": "5xx"})
    # When the retry function sees it for the RETRY_MAX_ATTEMPTS-th (12th) time
    response = handlers.retry(handlers.receive(), receive_count=12)
    # Then it is not failed again but dead-lettered with the reason and the last error
    assert response == {"batchItemFailures": []}
    [dead] = local_aws.messages("dlq")
    assert dead["json"]["dead_letter"]["reason"] == "max_attempts"
    assert [e["event_id"] for e in dead["json"]["data"]] == [event_id]
    assert queue_counts(local_aws) == (0, 0)
    assert emitted_metrics(capsys.readouterr().out)["EventsDeadLettered"] == 1


def test_expired_event_goes_to_the_dlq_as_expired_without_calling_meta(handlers, graph_sandbox, local_aws):
    # Given a retry message whose event is 8 days old (Meta takes 7)
    put_retry_message(local_aws, event_time=int(time.time()) - 8 * DAY_S)
    # When the retry function handles it
    response = handlers.retry(handlers.receive())
    # Then it is dead-lettered as expired and Meta never sees it
    assert response == {"batchItemFailures": []}
    [dead] = local_aws.messages("dlq")
    assert dead["json"]["dead_letter"]["reason"] == "expired"
    assert graph_sandbox.requests() == []


def test_permanently_rejected_event_is_isolated_into_the_dlq_and_the_rest_delivered(
    handlers, graph_sandbox, local_aws
):
    # Given the three-event batch queued, and Meta now refusing AddToCart for good
    queue_while_meta_fails(handlers, graph_sandbox, sample_name="batch.json")
    graph_sandbox.add_fault({"kind": "reject", "event_name": "AddToCart"})
    # When the retry function handles the message
    response = handlers.retry(handlers.receive())
    # Then the two good events are delivered, AddToCart is dead-lettered with Meta's code
    assert response == {"batchItemFailures": []}
    assert sorted(row["event"]["event_name"] for row in graph_sandbox.events()) == ["Purchase", "ViewContent"]
    [dead] = local_aws.messages("dlq")
    assert [e["event_name"] for e in dead["json"]["data"]] == ["AddToCart"]
    assert dead["json"]["dead_letter"]["reason"] == "meta_rejected"
    assert dead["json"]["dead_letter"]["graph_code"] == 100


@pytest.mark.parametrize(
    "body", ["not json", json.dumps({"hello": "world"})], ids=["not-json", "not-a-message"]
)
def test_malformed_message_is_dead_lettered_not_retried(handlers, local_aws, body):
    # Given a message in the retry queue that capi-relay did not write
    local_aws.client("sqs").send_message(QueueUrl=local_aws.names["retry_queue_url"], MessageBody=body)
    # When the retry function handles it
    response = handlers.retry(handlers.receive())
    # Then it is kept, as it was, in the DLQ with reason malformed
    assert response == {"batchItemFailures": []}
    [dead] = local_aws.messages("dlq")
    assert dead["json"]["dead_letter"]["reason"] == "malformed" and dead["json"]["body"] == body


def test_meta_timeout_fails_the_rest_of_the_batch_without_waiting_again(handlers, graph_sandbox, local_aws):
    # Given two queued messages and Meta holding every request past the client's timeout
    queue_while_meta_fails(handlers, graph_sandbox, times=2)
    messages = handlers.receive()
    graph_sandbox.add_fault({"kind": "timeout", "delay_s": 5})
    # When the retry function handles the batch
    response = handlers.retry(messages)
    # Then both records fail, but Meta was called once: the second did not wait out a timeout too
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == {m["MessageId"] for m in messages}
    [timeout] = graph_sandbox.faults()
    assert timeout["fired"] == 1
