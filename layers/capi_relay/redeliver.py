"""The retry use case: resend one retry-queue message (docs/CONTRACTS.md), with relay.py's send code.

Raising tells the retry handler to fail the record, so SQS backs off and, after N receives, moves it
to the DLQ. Once part of a message is settled (sent, expired, refused), the rest is queued again as a
new message instead, so nothing is sent or dead-lettered twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capi_relay.batch import MAX_BISECT_REQUESTS
from capi_relay.delivery import Sender, dead_letter_message, deliver, rejected_groups
from capi_relay.model import CredentialSource, RedeliveryResult, Sink
from capi_relay.validate import window_s

if TYPE_CHECKING:
    from capi_relay.meta_client import MetaClient


def is_expired(event: dict, now: float) -> bool:
    """Meta refuses a whole request holding one event older than its window: never send those."""
    event_time = event.get("event_time")
    if isinstance(event_time, bool) or not isinstance(event_time, int | float):
        return True  # cannot be sent as it is; the DLQ shows it to a human
    return event_time < now - window_s(event.get("action_source"))


def _check(message: Any) -> None:
    if not (
        isinstance(message, dict)
        and isinstance(message.get("pixel_id"), str)
        and isinstance(message.get("data"), list)
        and all(isinstance(event, dict) for event in message["data"])
    ):
        raise ValueError("not a capi-relay retry message")


def redeliver(
    message: dict,
    *,
    client: MetaClient,
    credentials: CredentialSource,
    sink: Sink,
    now: float,
    max_bisect_requests: int = MAX_BISECT_REQUESTS,
) -> RedeliveryResult:
    """Send a queued message's events; raise Transient-/TokenMetaError when none could be settled."""
    _check(message)
    events = message["data"]
    expired = [event for event in events if is_expired(event, now)]
    fresh = [event for event in events if not is_expired(event, now)]
    dead_lettered = 0
    if expired:
        sink.dead_letter(dead_letter_message(message, expired, "expired", now, None))
        dead_lettered += len(expired)
    if not fresh:
        return RedeliveryResult(sent=0, dead_lettered=dead_lettered)
    sender = Sender(client, message["pixel_id"], credentials, message.get("test_event_code"))
    outcome = deliver(fresh, sender, max_bisect_requests)
    for error, positions in rejected_groups(outcome):
        sink.dead_letter(
            dead_letter_message(message, [fresh[i] for i in positions], "meta_rejected", now, error)
        )
        dead_lettered += len(positions)
    requeued = 0
    if outcome.pending and outcome.pending_error is not None:
        if not (expired or outcome.sent or outcome.rejected):
            raise outcome.pending_error  # nothing settled: fail the record, SQS retries it later
        attempts = message.get("attempts") if isinstance(message.get("attempts"), int) else 1
        sink.retry(
            {
                **{key: value for key, value in message.items() if key != "dead_letter"},
                "data": [fresh[i] for i in outcome.pending],
                "attempts": attempts + 1,
                "last_error": outcome.pending_error.summary(),
            }
        )
        requeued = len(outcome.pending)
    return RedeliveryResult(sent=len(outcome.sent), dead_lettered=dead_lettered, requeued=requeued)
