"""The access token from Secrets Manager: cached, refreshed once on Graph error 190, never leaked."""

from __future__ import annotations

from relay_aws.token import PLACEHOLDER
from tests.conftest import META_TOKEN
from tests.integration.lambda_events import emitted_metrics, http_event

NEW_TOKEN = "rotated-token-51d0c2"


def graph_codes(sandbox) -> list[int | None]:
    """What the Graph sandbox answered, call by call: 200, or the Graph error code."""
    return [200 if r.get("status") == 200 else r.get("code") for r in sandbox.requests()]


def test_rotated_token_is_fetched_again_once_then_the_event_is_sent(
    handlers, graph_sandbox, local_aws, capsys
):
    # Given a warm container that cached the token with a first event
    assert handlers.ingest(http_event())[0] == 200
    # ... and the operator rotating the token in Meta and in the secret
    graph_sandbox.set_token(NEW_TOKEN)
    local_aws.put_token(NEW_TOKEN)
    # When the next event arrives
    status, _ = handlers.ingest(http_event())
    # Then the cached token fails once (190), the secret is read again, and the event is sent
    assert status == 200
    assert graph_codes(graph_sandbox) == [200, 190, 200]
    assert emitted_metrics(capsys.readouterr().out)["MetaErrorsToken"] == 1
    assert local_aws.messages("retry") == []


def test_token_still_bad_after_one_refresh_queues_the_event_and_counts_token_errors(
    handlers, graph_sandbox, local_aws, capsys
):
    # Given Meta no longer accepting the token, and nobody having updated the secret
    graph_sandbox.set_token(NEW_TOKEN)
    # When an event arrives
    status, body = handlers.ingest(http_event())
    # Then one refresh is tried (two 190s, no more), the event waits in the queue, the token alarm's
    # metric counts both errors
    assert status == 202 and body["queued"] == 1
    assert graph_codes(graph_sandbox) == [190, 190]
    [message] = local_aws.messages("retry")
    assert message["json"]["last_error"]["error_class"] == "token"
    assert message["json"]["last_error"]["graph_code"] == 190
    totals = emitted_metrics(capsys.readouterr().out)
    assert totals["MetaErrorsToken"] == 2 and totals["EventsQueued"] == 1


def test_queued_event_goes_out_once_the_secret_holds_the_new_token(handlers, graph_sandbox, local_aws):
    # Given an event queued because of a bad token
    graph_sandbox.set_token(NEW_TOKEN)
    assert handlers.ingest(http_event())[0] == 202
    messages = handlers.receive()
    # When the operator puts the new token into the secret and the retry function runs
    local_aws.put_token(NEW_TOKEN)
    response = handlers.retry(messages)
    # Then the event is delivered with it
    assert response == {"batchItemFailures": []}
    assert [row["event"]["event_id"] for row in graph_sandbox.events()] == ["ord-10042-purchase"]


def test_placeholder_token_queues_events_without_calling_meta(handlers, graph_sandbox, local_aws):
    # Given a fresh deployment whose secret still holds the template's placeholder
    local_aws.put_token(PLACEHOLDER)
    # When an event arrives
    status, _ = handlers.ingest(http_event())
    # Then it waits in the retry queue, and Meta was never called with the placeholder
    assert status == 202
    assert len(local_aws.messages("retry")) == 1
    assert graph_sandbox.requests() == []


def test_token_never_appears_in_logs_queue_or_responses(handlers, graph_sandbox, local_aws, capsys):
    # Given a token error (so the token path is exercised twice) and then a success
    graph_sandbox.set_token(NEW_TOKEN)
    _, queued = handlers.ingest(http_event())
    local_aws.put_token(NEW_TOKEN)
    _, sent = handlers.ingest(http_event())
    # When everything the functions wrote is collected
    out = capsys.readouterr()
    written = [out.out, out.err, repr(queued), repr(sent), *(m["Body"] for m in local_aws.messages("retry"))]
    # Then neither token is in any of it
    assert not [text for text in written if META_TOKEN in text or NEW_TOKEN in text]
