"""Cutting event lists to the sizes the Graph API and SQS take."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from capi_relay.json_codec import write_message

if TYPE_CHECKING:
    from capi_relay.json_types import JsonObject

T = TypeVar("T")

MAX_EVENTS_PER_REQUEST = 1000  # Meta: at most 1000 events in one POST /{pixel_id}/events
MAX_BISECT_REQUESTS = 64  # extra Graph requests one delivery may spend isolating refused events
# Graph calls one delivery may make in all (a token refresh and bisecting included); isolating one
# refused event in a batch of 1000 takes ~20, so the rest of that search is queued and goes on later
MAX_GRAPH_CALLS = 10


def chunks(items: Sequence[T], size: int = MAX_EVENTS_PER_REQUEST) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items, in order."""
    if size < 1:
        raise ValueError("size must be at least 1")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def halves(items: Sequence[T]) -> tuple[Sequence[T], Sequence[T]]:
    """The two halves a rejected batch is split into to find the event Meta refuses (needs ≥ 2 items)."""
    if len(items) < 2:
        raise ValueError("only a batch of two or more can be halved")
    middle = len(items) // 2
    return items[:middle], items[middle:]


def by_size(events: Sequence[JsonObject], max_bytes: int) -> Iterator[list[JsonObject]]:
    """Consecutive groups whose queue-message JSON (json_codec.write_message) stays under max_bytes (one
    event alone may exceed it)."""
    group: list[JsonObject] = []
    size = 0
    for event in events:
        event_size = len(write_message(event)) + 1  # ASCII: characters are bytes; +1 for the comma
        if group and size + event_size > max_bytes:
            yield group
            group, size = [], 0
        group.append(event)
        size += event_size
    if group:
        yield group
