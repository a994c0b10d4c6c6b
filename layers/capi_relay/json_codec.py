"""JSON on the hot path: the standard library at every cold start, orjson once a container is busy.

Writing the Graph body and reading the caller's are the biggest costs of a relayed event after
hashing: `json` takes ~12 µs an event to write and ~10 to read, orjson ~1.5 and ~4. But importing
orjson costs ~6 ms of CPU (it brings `dataclasses` and `uuid`), what ~500 events save: a quiet
shop's cold start would pay it for one browser event. So a container starts on `json`; its Graph
client's writer loads orjson once it has written FAST_AFTER_EVENTS events (one batch that large
switches at once, and pays for the import within its own request), and from then on bodies are read
with orjson too (`busy_loads`).

Both give the same values. Where orjson would not, `json` does the work: an integer beyond 64 bits
(orjson cannot write one, and reads one as a float: a body with 19 digits in a row is read by json),
and anything orjson refuses (json then says what is wrong). Floats may be spelled differently when
written (`1e-7`, not `1e-07`): the same number to any JSON reader, Meta's included.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

FAST_AFTER_EVENTS = 500  # ~6 ms of import against ~11-20 µs saved per event

# json.dumps with keyword arguments builds a new JSONEncoder on every call: this one is built once.
# Events come from json.loads and our own copies, so they cannot hold a cycle: not checked.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)

# A queue message as SQS takes it: non-ASCII text escaped, since SQS refuses some characters JSON may
# carry raw (U+FFFE, U+FFFF), and an escaped text is ASCII, so its length is its size in bytes.
_MESSAGE_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)

Write = Callable[[Any], bytes]
_orjson: ModuleType | None = None  # this container's, once a writer has switched


def write_with_json(payload: Any) -> bytes:
    """The body as `json` writes it: compact, UTF-8, non-ASCII text as it is."""
    return _ENCODER.encode(payload).encode()


def write_message(message: Any) -> str:
    """A retry or dead-letter message (or a part of one) as the SQS adapter sends it, and as the domain
    measures it when it cuts messages to size: one writer, so that what is measured is what is sent."""
    return _MESSAGE_ENCODER.encode(message)


def _load_orjson() -> Write | None:
    global _orjson
    try:
        import orjson  # lazy: see the module docstring
    except ImportError:  # a build without it (or a platform without a wheel): json does all the work
        return None
    _orjson = orjson
    dumps: Write = orjson.dumps
    return dumps


def busy_loads() -> Callable[[str | bytes], Any] | None:
    """orjson's reader once this container is busy, else None (read with json)."""
    return None if _orjson is None else _orjson.loads


# Each digit as "9", anything else as " ": an integer orjson would read as a float shows as 19 nines
_DIGITS_AS_NINES = bytes(57 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_INTEGER = b"9" * 19  # the shortest integer outside −2^63 … 2^64 - 1


def orjson_reads_as_json(raw: bytes) -> bool:
    """False when a body may hold an integer orjson reads as a float (19 digits in a row, anywhere:
    ~1 µs for a 1 KB body, against ~6 µs orjson saves). Anything else it reads as json does, or refuses."""
    return _LONG_INTEGER not in raw.translate(_DIGITS_AS_NINES)


class GraphBodyWriter:
    """Writes Graph bodies with `json` until FAST_AFTER_EVENTS events, then with orjson (if installed)."""

    __slots__ = ("_fast", "_until_fast")

    def __init__(self, fast_after_events: int = FAST_AFTER_EVENTS) -> None:
        self._until_fast = fast_after_events
        self._fast: Write | None = None

    @property
    def codec(self) -> str:
        """Which library writes the next body: "json" or "orjson" (for the bench and the tests)."""
        return "orjson" if self._fast not in (None, write_with_json) else "json"

    def __call__(self, payload: Any, events: int) -> bytes:
        """`payload` (a Graph request of `events` events) as the bytes to POST."""
        write = self._fast
        if write is None:
            self._until_fast -= events
            if self._until_fast > 0:
                return write_with_json(payload)
            write = self._fast = _load_orjson() or write_with_json  # decided once: no more counting
        try:
            return write(payload)
        except TypeError:  # orjson's refusal: an integer beyond 64 bits, which json writes exactly
            return write_with_json(payload)
