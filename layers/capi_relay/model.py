"""The values that cross the domain's edges: what comes in, how it is configured, what goes out.

Immutable NamedTuples, not the frozen dataclasses STYLE.md names, on purpose (measured): a dataclass
costs ~1.2 ms of code generation on every cold start (plus the `dataclasses` module), a NamedTuple
~0.2 ms, and a frozen dataclass takes twice as long to build on every request (~1.6 µs against ~0.7 µs).
No `from __future__ import annotations` here: typing compiles each string annotation of a NamedTuple
field (~30 µs a field).
"""

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol, TypedDict

from capi_relay.batch import MAX_BISECT_REQUESTS, MAX_GRAPH_CALLS
from capi_relay.json_types import JsonObject

EMPTY: Mapping[str, str] = MappingProxyType({})  # a default no request can change for the next one


def slots_repr(self: Any) -> str:
    """`__repr__` of a slotted class (`__repr__ = slots_repr`): its class name and every slot's value."""
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
    return f"{type(self).__name__}({fields})"


class IngestRequest(NamedTuple):
    """One HTTP request to POST /events, already taken apart by the adapter (header names lower-case)."""

    body: bytes
    headers: Mapping[str, str] = EMPTY
    cookies: Mapping[str, str] = EMPTY
    source_ip: str | None = None
    query: Mapping[str, str] = EMPTY
    request_id: str | None = None


class RelayConfig(NamedTuple):
    """How one deployment relays; read once per container by the adapter, passed in by the handler."""

    pixel_ids: tuple[str, ...] = ()  # the first is the default pixel
    default_region: str | None = None  # ISO alpha-2, for phone numbers, states and zips without a country
    trusted_proxy: bool = False  # X-Forwarded-For is believed only behind a proxy the owner trusts
    allowed_origins: tuple[str, ...] = ()
    allowed_url_domains: tuple[str, ...] = ()
    data_processing_options: Sequence[str] | None = None  # e.g. ["LDU"], applied where an event has none
    dpo_country: int | None = None
    dpo_state: int | None = None
    api_keys: tuple[str, ...] = ()
    hmac_secret: str | Sequence[str] | None = None
    # False (the default): a caller needs credentials or an allowed Origin; True admits anyone (trials)
    open_relay: bool = False
    browser_max_events: int = 20  # events a request for a caller admitted by its Origin alone
    # limits (DESIGN.md §3)
    max_body_bytes: int = 1_000_000
    max_events: int = 1000
    max_depth: int = 16
    max_string: int = 2048
    max_url: int = 8192
    max_values: int = 100
    future_skew_s: int = 60  # an event_time at most this far ahead is taken as "now" (clock drift)
    max_message_bytes: int = 240_000  # one retry message; SQS refuses more than 256 KiB
    max_bisect_requests: int = MAX_BISECT_REQUESTS
    max_graph_calls: int = MAX_GRAPH_CALLS  # one request's Graph calls; the rest is queued
    credentials_read_s: float = 0.0  # worst case of one secret read (the adapter's client timeouts)
    queue_write_s: float = 3.0  # kept back from the deadline to queue what is left (the adapter's worst case)


class Credentials:
    """What the Graph API needs to accept events for a pixel; never logged, never in a repr.

    Not a tuple: nothing can iterate, unpack or JSON-dump the token out of it.
    """

    __slots__ = ("access_token", "app_secret")
    access_token: str
    app_secret: str | None

    def __init__(self, access_token: str, app_secret: str | None = None) -> None:
        object.__setattr__(self, "access_token", access_token)
        object.__setattr__(self, "app_secret", app_secret)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Credentials are immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Credentials are immutable: cannot delete {name!r}")

    def __repr__(self) -> str:
        return "Credentials()"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.access_token, self.app_secret) == (other.access_token, other.app_secret)

    def __hash__(self) -> int:
        return hash((self.access_token, self.app_secret))


# (pixel_id, force_refresh) -> Credentials; force_refresh=True after a token error (190/102)
CredentialSource = Callable[[str, bool], Credentials]


class Sink(Protocol):
    """The retry queue port; both methods raise when the queue cannot take the message (→ 503)."""

    def retry(self, message: JsonObject) -> None: ...

    def dead_letter(self, message: JsonObject) -> None: ...


class EventWarning(TypedDict):
    """Something the relay changed or dropped in an event it sent: where and a stable code, never a value."""

    index: int  # position in `data`
    field: str  # a field path, e.g. "user_data.ph[0]"
    code: str  # e.g. "event_time_clamped"


class RelayResult(NamedTuple):
    """The outcome of one POST /events: the HTTP answer plus the counts the handler turns into metrics."""

    status: int
    body: dict[str, Any]
    received: int  # events in the request
    sent: int  # events Meta accepted
    queued: int  # events put on the retry queue
    rejected: int  # events refused: by validation, or by Meta
    dead_lettered: int  # events Meta refused, kept in the DLQ
    event_ids: list[str]
    warnings: list[EventWarning]
    meta_errors: list[JsonObject]  # MetaError.summary() of every Graph failure met
    match_keys: dict[str, int]  # em / ph / fbp / fbc / external_id / ip_ua: events carrying each


class RedeliveryResult(NamedTuple):
    """The outcome of resending one retry message."""

    sent: int
    dead_lettered: int
    requeued: int = 0  # events sent back to the retry queue after partial progress
    unsettled: Any = None  # why those were not sent (a MetaError or NotSent), for the retry policy


# Meta's request-level Conversions API parameters: request-wide like test_event_code, carried from the
# caller to Meta and through the retry queue. Not about the customer (never PII), yet never logged.
REQUEST_OPTIONS = ("partner_agent", "namespace_id", "upload_tag", "upload_id", "upload_source")


def request_options(source: Mapping[str, Any]) -> dict[str, str]:
    """The request options a parsed body or retry message holds (old messages hold none)."""
    return {name: value for name in REQUEST_OPTIONS if isinstance(value := source.get(name), str) and value}
