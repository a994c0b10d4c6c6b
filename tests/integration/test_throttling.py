"""Meta throttling is not a bad event: queued whole, never bisected, never dead-lettered; the retry
function stops its batch at the first throttle (issue 14, finding 4).

The real handlers against the moto server and the Graph sandbox's rate_limit fault, over real HTTP.
"""

from __future__ import annotations

import pytest

from tests.integration.lambda_events import emitted_metrics, server_event

THROTTLE_CODES = [4, 17, 32, 613, 80000, 80001, 80003, 80004, 80014]


def batch(count: int) -> dict:
    """A server's batch of `count` leads (no Origin needed: the test stack is open)."""
    return {
        "data": [
            {
                "event_name": "Lead",
                "event_id": f"lead-{n}",
                "action_source": "website",
                "event_source_url": "https://shop.example/form",
                "user_data": {"em": f"lead{n}@example.com"},
            }
            for n in range(count)
        ]
    }


@pytest.mark.parametrize("code", THROTTLE_CODES)
def test_throttling_without_is_transient_queues_the_batch_without_bisecting(
    server, graph_sandbox, local_aws, capsys, code
):
    # Given Meta throttling the ad account, with is_transient false (as 800xx answers often are)
    graph_sandbox.add_fault({"kind": "rate_limit", "code": code, "transient": False})
    # When a server posts a batch of 64 events
    status, body = server.ingest(server_event(batch(64)))
    # Then the whole batch waits in the retry queue after one Graph call: no bisection, no DLQ
    assert status == 202 and body["queued"] == 64
    assert len(graph_sandbox.requests()) == 1
    assert local_aws.messages("dlq") == []
    [message] = local_aws.messages("retry")
    assert len(message["json"]["data"]) == 64 and message["json"]["last_error"]["error_class"] == "transient"
    totals = emitted_metrics(capsys.readouterr().out)
    assert totals["MetaErrorsTransient"] == 1 and "MetaErrorsPermanent" not in totals


def test_retry_function_stops_its_batch_at_the_first_throttle(server, graph_sandbox, local_aws):
    handlers = server
    # Given three messages queued while Meta was down
    graph_sandbox.add_fault({"kind": "5xx", "count": 3})
    for _ in range(3):
        assert handlers.ingest(server_event(batch(2)))[0] == 202
    graph_sandbox.clear_faults()
    messages = handlers.receive()
    assert len(messages) == 3
    # When Meta throttles (code 80003, fast answers, not timeouts) while the retry function runs
    graph_sandbox.add_fault({"kind": "rate_limit", "code": 80003, "transient": False})
    response = handlers.retry(messages)
    # Then Meta was asked once; all three records are reported failed (backed off), none dead-lettered
    assert len(graph_sandbox.requests()) == 1 + 3  # the three ingests, then one retry call
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    assert failed == {m["MessageId"] for m in messages}
    assert local_aws.messages("dlq") == []
