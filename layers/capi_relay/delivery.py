"""Getting ready events to Meta: batches of ≤ 1000, one token refresh, bisecting a refused batch.

Shared by the ingest (relay.py) and the retry (redeliver.py) use cases, with the retry / dead-letter
message shapes of docs/CONTRACTS.md, so both send and queue in exactly one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capi_relay.batch import MAX_BISECT_REQUESTS, chunks, halves
from capi_relay.errors import MetaError, PermanentMetaError, TokenMetaError, TransientMetaError
from capi_relay.model import Credentials, CredentialSource

if TYPE_CHECKING:
    from capi_relay.meta_client import MetaClient, MetaResponse

MESSAGE_VERSION = 1


class Sender:
    """Sends to one pixel; fetches credentials lazily and refreshes them at most once (Graph 190/102)."""

    def __init__(
        self, client: MetaClient, pixel_id: str, credentials: CredentialSource, test_event_code: str | None
    ) -> None:
        self.client = client
        self.pixel_id = pixel_id
        self.test_event_code = test_event_code
        self._source = credentials
        self._credentials: Credentials | None = None
        self._refreshed = False
        self.errors: list[MetaError] = []  # every failure met, for metrics and logs

    def _fetch(self, force_refresh: bool) -> Credentials:
        try:
            return self._source(self.pixel_id, force_refresh)
        except TokenMetaError:
            raise  # no usable token configured (none, the placeholder): queued, and the token alarm fires
        except Exception as exc:  # the secret store is down: the events wait in the queue
            raise TransientMetaError(f"credentials unavailable ({type(exc).__name__})") from None

    def __call__(self, events: Sequence[dict]) -> MetaResponse:
        if self._credentials is None:
            self._credentials = self._fetch(False)
        try:
            return self.client.send(self.pixel_id, events, self._credentials, self.test_event_code)
        except TokenMetaError as error:
            self.errors.append(error)
            if self._refreshed:
                raise
            self._refreshed = True
            self._credentials = self._fetch(True)
            return self.client.send(self.pixel_id, events, self._credentials, self.test_event_code)


@dataclass(slots=True)
class Delivery:
    """Where each event (by position) ended up."""

    sent: list[int] = field(default_factory=list)
    rejected: list[tuple[int, PermanentMetaError]] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # not delivered: Meta down, throttling, bad token
    pending_error: MetaError | None = None
    events_received: int = 0
    fbtrace_id: str | None = None


def _event_specific(error: PermanentMetaError) -> bool:
    """Whether one event may be at fault; a wrong pixel or a missing permission fails every event alike."""
    return error.subcode is None or 2804000 <= error.subcode < 2805000


def deliver(
    events: Sequence[dict], sender: Sender, max_bisect_requests: int = MAX_BISECT_REQUESTS
) -> Delivery:
    """Send all events in batches; isolate refused ones by halving; stop at the first transient failure."""
    outcome = Delivery()
    budget = [max_bisect_requests]

    def send(group: Sequence[int], bisecting: bool) -> None:
        if outcome.pending_error is not None:  # Meta is down: do not wait out a timeout per batch
            outcome.pending.extend(group)
            return
        if bisecting:
            budget[0] -= 1
        try:
            response = sender([events[i] for i in group])
        except PermanentMetaError as error:
            sender.errors.append(error)
            if len(group) == 1 or not _event_specific(error) or budget[0] <= 0:
                outcome.rejected.extend((i, error) for i in group)  # visible in the DLQ, never silent
                return
            for half in halves(group):
                if budget[0] <= 0:  # out of requests: the untried rest goes to the DLQ with this error
                    outcome.rejected.extend((i, error) for i in half)
                else:
                    send(half, True)
        except (TransientMetaError, TokenMetaError) as error:
            sender.errors.append(error)
            outcome.pending_error = error
            outcome.pending.extend(group)
        else:
            outcome.sent.extend(group)
            outcome.events_received += response.events_received
            outcome.fbtrace_id = outcome.fbtrace_id or response.fbtrace_id

    for group in chunks(range(len(events))):
        send(group, False)
    outcome.sent.sort()
    outcome.pending.sort()
    outcome.rejected.sort(key=lambda pair: pair[0])
    return outcome


def retry_message(
    pixel_id: str,
    test_event_code: str | None,
    events: list[dict],
    error: MetaError | None,
    first_failure: int,
    attempts: int,
) -> dict[str, Any]:
    """A retry-queue message (docs/CONTRACTS.md): hashed, ready-to-send events only."""
    return {
        "v": MESSAGE_VERSION,
        "pixel_id": pixel_id,
        "test_event_code": test_event_code,
        "data": events,
        "first_failure": first_failure,
        "attempts": attempts,
        "last_error": error.summary() if error is not None else None,
    }


def dead_letter_message(
    base: dict, events: list[dict], reason: str, now: float, error: MetaError | None
) -> dict:
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
