"""The retry use case: resend retry-queue messages (docs/CONTRACTS.md), with relay.py's send code,
and the retry policy: which attempt this is, how long to back off, when to give up (DLQ), and when
the rest of a batch should not even be tried (Meta throttling or unreachable, the deadline near).

`redeliver_message` sends one message; raising tells the caller nothing was settled. Once part of a message
is settled (sent, expired, refused), the rest is queued again as a new message instead, so nothing
is sent or dead-lettered twice. `RetryBatch` decides for each record of one batch what the handler
carries out: nothing, or "hide it for N seconds and report it failed".
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from capi_relay.batch import MAX_BISECT_REQUESTS, MAX_GRAPH_CALLS
from capi_relay.delivery import (
    RESERVE_S,
    Limits,
    Sender,
    Unsettled,
    dead_letter_message,
    deliver,
    rejected_groups,
)
from capi_relay.errors import (
    DeliveryStopped,
    MetaError,
    NotSent,
    ThrottledMetaError,
)
from capi_relay.model import CredentialSource, RedeliveryResult, Sink, request_options, slots_repr
from capi_relay.validate import window_s

# a message's backoff is its visibility timeout; SQS allows at most 12 h after it was received, the
# margin covers the time the invocation has already spent
MAX_BACKOFF_S = 12 * 3600 - 300

if TYPE_CHECKING:
    from capi_relay.json_types import JsonObject
    from capi_relay.meta_client import MetaClient


def is_expired(event: JsonObject, now: float) -> bool:
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


def redeliver_message(
    message: JsonObject,
    *,
    client: MetaClient,
    credentials: CredentialSource,
    sink: Sink,
    now: float,
    max_bisect_requests: int = MAX_BISECT_REQUESTS,
    limits: Limits | None = None,
) -> RedeliveryResult:
    """Send a queued message's events; raise why (a MetaError or NotSent) when none could be settled."""
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
    options = request_options(message)  # none in messages queued before they were carried
    sender = Sender(client, message["pixel_id"], credentials, message.get("test_event_code"), limits, options)
    outcome = deliver(fresh, sender, max_bisect_requests)
    for error, positions in rejected_groups(outcome):
        sink.dead_letter(
            dead_letter_message(message, [fresh[i] for i in positions], "meta_rejected", now, error)
        )
        dead_lettered += len(positions)
    requeued = 0
    if outcome.pending and outcome.pending_error is not None:
        if not (expired or outcome.sent or outcome.rejected or outcome.narrowed):
            raise outcome.pending_error  # nothing settled: fail the record, SQS retries it later
        attempts = found if isinstance(found := message.get("attempts"), int) else 1
        for group in outcome.pending_groups:  # a narrowed search goes on from its smaller groups
            sink.retry(
                {
                    **{key: value for key, value in message.items() if key != "dead_letter"},
                    "data": [fresh[i] for i in group],
                    "attempts": attempts + 1,
                    "last_error": outcome.pending_error.summary(),
                }
            )
        requeued = len(outcome.pending)
    return RedeliveryResult(
        sent=len(outcome.sent),
        dead_lettered=dead_lettered,
        requeued=requeued,
        unsettled=outcome.pending_error if requeued else None,
    )


# --- the retry policy ---------------------------------------------------------------------------


class RetryPolicy(NamedTuple):
    """How the retry queue retries: `max_attempts` deliveries, then the DLQ; backoff base × 2^(n−1)."""

    max_attempts: int = 12
    base_delay_s: float = 30.0

    def backoff_s(self, attempt: int) -> int:
        """Delay before the next attempt, rounded up to whole seconds (a tiny test base never retries a
        failing Meta in a hot loop), at most MAX_BACKOFF_S."""
        exponent = max(attempt, 1) - 1
        if exponent >= 32:  # far past the cap anyway; keeps the float finite
            return MAX_BACKOFF_S
        return min(math.ceil(self.base_delay_s * 2.0**exponent), MAX_BACKOFF_S)


def attempt_number(receive_count: int | str, message: object) -> int:
    """This delivery's attempt: the queue's receive count, continued for a message re-queued after
    partial progress (redeliver counts those in the message's `attempts`)."""
    previous = message.get("attempts") if isinstance(message, dict) else None
    previous = previous if isinstance(previous, int) and not isinstance(previous, bool) else 1
    return max(int(receive_count), 1) + max(previous - 1, 0)


def malformed_message(body: str, now: float) -> JsonObject:
    """A DLQ message for a body that is not a capi-relay retry message (put there by hand?), kept as is."""
    return {"v": 1, "body": body, "dead_letter": {"reason": "malformed", "at": int(now)}}


_NOTHING = RedeliveryResult(sent=0, dead_lettered=0)


class RecordOutcome:
    """What became of one record, for the handler to carry out, count and log (slotted: see model)."""

    __slots__ = ("errors", "fields", "level", "log", "result", "retry_in_s")

    def __init__(
        self,
        *,
        retry_in_s: int | None = None,  # not None: hide the record this long and report it failed
        result: RedeliveryResult = _NOTHING,
        errors: list[Unsettled] | None = None,  # new failures met (for metrics)
        level: str = "info",
        log: str = "redelivered",
        fields: dict[str, Any] | None = None,  # safe to log: counts, codes, attempt
    ) -> None:
        self.retry_in_s = retry_in_s
        self.result = result
        self.errors: list[Unsettled] = [] if errors is None else errors
        self.level = level
        self.log = log
        self.fields: dict[str, Any] = {} if fields is None else fields

    __repr__ = slots_repr


def _stops_the_batch(error: Unsettled) -> bool:
    """Failures that would only repeat for every other record now: throttling, no answer, no time."""
    if isinstance(error, ThrottledMetaError | NotSent):
        return True
    return isinstance(error, MetaError) and error.status is None  # a timeout or no connection


class RetryBatch:
    """One invocation's batch of retry records; each record's fate, and when to stop trying Meta."""

    def __init__(
        self,
        *,
        client: Any,
        credentials: CredentialSource,
        sink: Sink,
        policy: RetryPolicy,
        clock: Callable[[], float],
        remaining: Callable[[], float] | None = None,
        credentials_read_s: float = 0.0,
        queue_write_s: float = RESERVE_S,
        max_graph_calls: int = MAX_GRAPH_CALLS,
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.sink = sink
        self.policy = policy
        self.clock = clock
        self.remaining = remaining
        self.credentials_read_s = credentials_read_s
        self.queue_write_s = queue_write_s
        self.max_graph_calls = max_graph_calls
        self.stopped: Unsettled | None = None  # set once Meta throttles, is unreachable, or time is up

    def handle(self, body: str, receive_count: int | str) -> RecordOutcome:
        """Redeliver one record's message and decide: done (sent, requeued, dead-lettered) or retry later."""
        now = self.clock()
        try:
            message = json.loads(body)
            _check(message)
        except ValueError:  # not JSON, or not a retry message: retrying cannot help, keep it visible
            self.sink.dead_letter(malformed_message(body, now))
            return RecordOutcome(level="error", log="dead-lettered", fields={"reason": "malformed"})
        if self.stopped is not None:  # do not wait out a timeout, or add to throttling, per record
            return self._failed(message, receive_count, self.stopped, now, new=False)
        limits = Limits(
            self.max_graph_calls,
            self.remaining,
            reserve_s=self.queue_write_s,
            fetch_s=self.credentials_read_s,
        )
        try:
            result = redeliver_message(
                message,
                client=self.client,
                credentials=self.credentials,
                sink=self.sink,
                now=now,
                limits=limits,
            )
        except (MetaError, NotSent) as error:
            if _stops_the_batch(error):
                self.stopped = error
            return self._failed(message, receive_count, error, now, new=True)
        if result.unsettled is not None and _stops_the_batch(result.unsettled):
            self.stopped = result.unsettled  # part went, then Meta throttled: the next records wait
        return RecordOutcome(
            result=result,
            fields={
                "pixel_id": message["pixel_id"],
                "sent": result.sent,
                "dead_lettered": result.dead_lettered,
            },
        )

    def _failed(
        self, message: JsonObject, receive_count: int | str, error: Unsettled, now: float, new: bool
    ) -> RecordOutcome:
        attempt = attempt_number(receive_count, message)
        errors = [error] if new and not isinstance(error, DeliveryStopped) else []
        fields = {"attempt": attempt, "count": len(message["data"]), **error.summary()}
        if attempt < self.policy.max_attempts:
            delay = self.policy.backoff_s(attempt)
            return RecordOutcome(
                retry_in_s=delay, errors=errors, level="warning", log="retry later", fields=fields
            )
        self.sink.dead_letter(dead_letter_message(message, message["data"], "max_attempts", now, error))
        dead = RedeliveryResult(sent=0, dead_lettered=len(message["data"]))
        return RecordOutcome(
            result=dead,
            errors=errors,
            level="error",
            log="dead-lettered",
            fields={"reason": "max_attempts", **fields},
        )
