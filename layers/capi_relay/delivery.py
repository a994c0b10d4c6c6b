"""Getting ready events to Meta: batches of ≤ 1000, one token refresh, bisecting a refused batch.

Shared by the ingest (relay.py) and the retry (redeliver.py) use cases, with the retry / dead-letter
message shapes of docs/CONTRACTS.md, so both send and queue in exactly one way. Every delivery is
bounded (Limits): a number of Graph calls, and the invocation's deadline; what is left is queued.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from capi_relay.batch import (
    MAX_BISECT_REQUESTS,
    MAX_EVENTS_PER_REQUEST,
    MAX_GRAPH_CALLS,
    by_size,
    chunks,
    halves,
)
from capi_relay.errors import (
    DeliveryStopped,
    MetaError,
    NotSent,
    PermanentMetaError,
    SecretUnavailable,
    TokenMetaError,
    TransientMetaError,
)
from capi_relay.json_codec import write_message
from capi_relay.model import Credentials, CredentialSource, slots_repr

if TYPE_CHECKING:
    from capi_relay.json_types import JsonObject
    from capi_relay.meta_client import MetaClient, MetaResponse

MESSAGE_VERSION = 1
RESERVE_S = 3.0  # kept back from the deadline: queueing what is left takes SQS a few calls
MIN_READ_S = 1.0  # a Graph call with less time than this to answer is not started

Unsettled = MetaError | NotSent  # why events are still pending


class Limits:
    """What one delivery may spend: Graph calls, and time before the invocation's deadline.

    `remaining` is the invocation's seconds left (the Lambda context's, passed in by the handler as a
    plain callable); None = no deadline (tests, local tools). `fetch_s` is the worst case of one
    credentials read, so a token refresh is not started when it could not finish in time.
    A plain slotted class, not a dataclass: see capi_relay.model (cold-start cost).
    """

    __slots__ = ("calls", "fetch_s", "max_calls", "remaining", "reserve_s")

    def __init__(
        self,
        max_calls: int = MAX_GRAPH_CALLS,
        remaining: Callable[[], float] | None = None,
        reserve_s: float = RESERVE_S,
        fetch_s: float = 0.0,
        calls: int = 0,
    ) -> None:
        self.max_calls = max_calls
        self.remaining = remaining
        self.reserve_s = reserve_s
        self.fetch_s = fetch_s
        self.calls = calls

    __repr__ = slots_repr

    def left_s(self) -> float:
        return math.inf if self.remaining is None else self.remaining() - self.reserve_s

    def take_call(self, connect_s: float) -> float:
        """Count one Graph call and return the longest read timeout it may use; DeliveryStopped if none."""
        if self.calls >= self.max_calls:
            raise DeliveryStopped("call_budget")
        read_s = self.left_s() - connect_s
        if read_s < MIN_READ_S:
            raise DeliveryStopped("deadline")
        self.calls += 1
        return read_s

    def check_fetch(self, connect_s: float) -> None:
        """Raise DeliveryStopped when a credentials read plus one Graph call would not fit in time."""
        if self.left_s() - self.fetch_s - connect_s < MIN_READ_S:
            raise DeliveryStopped("deadline")


class Sender:
    """Sends to one pixel; fetches credentials lazily and refreshes them at most once (Graph 190/102)."""

    def __init__(
        self,
        client: MetaClient,
        pixel_id: str,
        credentials: CredentialSource,
        test_event_code: str | None,
        limits: Limits | None = None,
        options: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.pixel_id = pixel_id
        self.test_event_code = test_event_code
        self.options = options  # Meta's request-level parameters (model.REQUEST_OPTIONS)
        self.limits = limits or Limits()
        self._source = credentials
        self._credentials: Credentials | None = None
        self._refreshed = False
        self.errors: list[Unsettled] = []  # every failure met, for metrics and logs

    def _fetch(self, force_refresh: bool) -> Credentials:
        if force_refresh:  # a real read of the secret store (the first one is the cached read)
            self.limits.check_fetch(self.client.timeout[0])
        try:
            return self._source(self.pixel_id, force_refresh)
        except (TokenMetaError, SecretUnavailable):
            raise  # no usable token (none, the placeholder): queued, the token alarm fires; or no secret
        except Exception as exc:  # the secret store is down: the events wait in the queue
            raise SecretUnavailable("credentials", type(exc).__name__) from None

    def _send(self, events: Sequence[JsonObject], credentials: Credentials) -> MetaResponse:
        read_s = self.limits.take_call(self.client.timeout[0])
        return self.client.send(
            self.pixel_id, events, credentials, self.test_event_code, max_read_s=read_s, options=self.options
        )

    def __call__(self, events: Sequence[JsonObject]) -> MetaResponse:
        if self._credentials is None:
            self._credentials = self._fetch(False)
        try:
            return self._send(events, self._credentials)
        except TokenMetaError as error:
            self.errors.append(error)
            if self._refreshed:
                raise
            self._refreshed = True
            self._credentials = self._fetch(True)
            return self._send(events, self._credentials)


class Delivery:
    """Where each event (by position) ended up; filled in by `deliver` (a plain slotted class: see model)."""

    __slots__ = (
        "events_received",
        "fbtrace_id",
        "narrowed",
        "pending",
        "pending_error",
        "pending_groups",
        "rejected",
        "sent",
    )

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.rejected: list[tuple[int, PermanentMetaError]] = []
        self.pending: list[int] = []  # not delivered: Meta down, throttling, bad token
        self.pending_groups: list[list[int]] = []  # `pending` as the groups it was tried in
        self.pending_error: Unsettled | None = None
        self.narrowed = False  # a refused group was halved: the pending groups are smaller than the batch
        self.events_received = 0
        self.fbtrace_id: str | None = None

    __repr__ = slots_repr

    def put_in_order(self) -> None:
        """Positions in order, as the result needs. Groups and halves are tried left to right, so they
        are; after bisecting they are sorted anyway (a rare path), and a plain send pays nothing."""
        if not self.narrowed:
            return
        self.sent.sort()
        self.pending.sort()
        self.rejected.sort(key=_position)

    def wait(self, group: Sequence[int], error: Unsettled, met: list[Unsettled]) -> None:
        """Leave `group` pending; a stop right after a failure (a refused token) shows that failure."""
        if isinstance(error, DeliveryStopped) and met:
            error = met[-1]
        self.pending_error = error
        self.pending.extend(group)
        self.pending_groups.append(list(group))


def _position(pair: tuple[int, PermanentMetaError]) -> int:
    return pair[0]


def _event_specific(error: PermanentMetaError) -> bool:
    """Whether one event may be at fault; a wrong pixel or a missing permission fails every event alike."""
    return error.subcode is None or 2804000 <= error.subcode < 2805000


def deliver(
    events: Sequence[JsonObject], sender: Sender, max_bisect_requests: int = MAX_BISECT_REQUESTS
) -> Delivery:
    """Send all events in batches; isolate refused ones by halving; stop at the first transient failure."""
    outcome = Delivery()
    budget = [max_bisect_requests]

    def send(group: Sequence[int], bisecting: bool) -> None:
        if outcome.pending_error is not None:  # Meta is down: do not wait out a timeout per batch
            outcome.wait(group, outcome.pending_error, [])
            return
        if bisecting:
            budget[0] -= 1
        try:
            # the whole request in one call (the common case): the events as they are, not a copy
            response = sender(events if len(group) == len(events) else [events[i] for i in group])
        except PermanentMetaError as error:
            sender.errors.append(error)
            if len(group) == 1 or not _event_specific(error) or budget[0] <= 0:
                outcome.rejected.extend((i, error) for i in group)  # visible in the DLQ, never silent
                return
            outcome.narrowed = True
            for half in halves(group):
                if budget[0] <= 0:  # out of requests: the untried rest goes to the DLQ with this error
                    outcome.rejected.extend((i, error) for i in half)
                else:
                    send(half, True)
        except (TransientMetaError, TokenMetaError, NotSent) as error:
            # throttling, an outage, a bad token, no secret, the deadline: never a reason to bisect
            if not isinstance(error, DeliveryStopped):
                sender.errors.append(error)
            outcome.wait(group, error, sender.errors)
        else:
            outcome.sent.extend(group)
            outcome.events_received += response.events_received
            outcome.fbtrace_id = outcome.fbtrace_id or response.fbtrace_id

    count = len(events)
    for group in (range(count),) if count <= MAX_EVENTS_PER_REQUEST else chunks(range(count)):
        send(group, False)
    outcome.put_in_order()
    return outcome


def retry_message(
    pixel_id: str,
    test_event_code: str | None,
    events: list[JsonObject],
    error: Unsettled | None,
    first_failure: int,
    attempts: int,
    options: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A retry-queue message (docs/CONTRACTS.md): hashed, ready-to-send events only."""
    return {
        "v": MESSAGE_VERSION,
        "pixel_id": pixel_id,
        "test_event_code": test_event_code,
        **(options or {}),  # partner_agent, upload_tag, …: top-level keys only when the caller sent them
        "data": events,
        "first_failure": first_failure,
        "attempts": attempts,
        "last_error": error.summary() if error is not None else None,
    }


def dead_letter_message(
    base: JsonObject, events: list[JsonObject], reason: str, now: float, error: Unsettled | None
) -> JsonObject:
    """A retry message plus why it will never be sent."""
    summary = error.summary() if error is not None else {}
    return {
        **base,
        "data": events,
        "last_error": summary or base.get("last_error"),
        "dead_letter": {
            "reason": reason,
            "at": int(now),
            "graph_code": summary.get("graph_code"),
            "graph_subcode": summary.get("graph_subcode"),
            "fbtrace_id": summary.get("fbtrace_id"),
        },
    }


def rejected_groups(outcome: Delivery) -> list[tuple[PermanentMetaError, list[int]]]:
    """Refused positions grouped by the Graph answer that refused them (one dead letter each)."""
    groups: dict[int, tuple[PermanentMetaError, list[int]]] = {}
    for position, error in outcome.rejected:
        groups.setdefault(id(error), (error, []))[1].append(position)
    return list(groups.values())


def messages(base: JsonObject, events: Sequence[JsonObject], max_bytes: int) -> list[JsonObject]:
    """`base` with its `data` cut into groups that fit a queue message: the one place messages are
    split by size (the SQS adapter sends what it is given)."""
    envelope = len(write_message({**base, "data": []}))
    return [{**base, "data": group} for group in by_size(events, max_bytes - envelope)]
