"""Every error capi-relay raises on purpose; messages carry field paths, codes and ids, never values."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from capi_relay.json_types import JsonObject


class FieldError(NamedTuple):
    """One reason an event (or the request) was refused: where, a stable code, and words for a human."""

    # position in `data`; None when the whole request is at fault (the field hides tuple.index)
    index: int | None  # type: ignore[assignment]
    field: str  # dotted path, e.g. "custom_data.currency"
    code: str  # stable, machine-readable, e.g. "currency_invalid"
    message: str  # never contains a user_data value

    def to_dict(self) -> JsonObject:
        return self._asdict()


class RelayError(Exception):
    """Base of every error capi-relay raises on purpose."""


# --- The caller's fault: 4xx -------------------------------------------------------------------


class Refused(RelayError):
    """The caller's fault, any 4xx: carries FieldErrors (index, field, code), never values."""

    status = 400

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} error(s): " + ", ".join(sorted({e.code for e in errors})))
        self.errors = list(errors)

    def codes(self) -> list[JsonObject]:
        """What a log line may hold: field paths and codes only."""
        return [{"index": e.index, "field": e.field, "code": e.code} for e in self.errors]

    def body(self) -> JsonObject:
        return {"errors": [e.to_dict() for e in self.errors]}


class BadRequest(Refused):
    """The caller sent what Meta would reject (400): fix the named fields and send again."""

    status = 400


class PayloadTooLarge(Refused):
    """The body or the number of events is over a limit: split the request and send again."""

    status = 413


class Unauthorized(Refused):
    """No valid API key or signature: the caller must authenticate."""

    status = 401


class Forbidden(Refused):
    """Authenticated or not, this origin, URL domain, pixel or action source is not allowed here."""

    status = 403


# --- Meta's side -------------------------------------------------------------------------------


class MetaError(RelayError):
    """The Graph API failed or refused; holds status, code, subcode and fbtrace_id only."""

    error_class = "meta"

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
    ) -> None:
        super().__init__(message or self.__class__.__doc__)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id

    def summary(self) -> JsonObject:
        """Safe to log, queue and return: no token, no event data."""
        return {
            "error_class": self.error_class,
            "status": self.status,
            "graph_code": self.code,
            "graph_subcode": self.subcode,
            "fbtrace_id": self.fbtrace_id,
        }


class TransientMetaError(MetaError):
    """5xx, timeout, throttling or is_transient: safe to retry later, so queue the events."""

    error_class = "transient"


class ThrottledMetaError(TransientMetaError):
    """Meta's rate limits (HTTP 429; codes 4, 17, 32, 613, the 800xx ads family): back off, never bisect."""


class TokenMetaError(MetaError):
    """Codes 190/102: refresh the secret once; if it fails again, queue and raise the alarm."""

    error_class = "token"


class PermanentMetaError(MetaError):
    """Code 100, 2804xxx and other 4xx: retrying cannot help; count, log the code, drop."""

    error_class = "permanent"


class QueueUnavailable(RelayError):
    """Neither Meta nor the retry queue took the events: the caller gets 503 and should retry."""

    status = 503


# --- Not sent, and nobody's fault: the events wait in the retry queue ---------------------------


class NotSent(RelayError):
    """The events were not offered to Meta (not a Graph answer): they are queued; summary() says why."""

    error_class = "not_sent"

    def summary(self) -> JsonObject:
        """Safe to log, queue and return: the class and, for a stop, its reason; never a value."""
        return {"error_class": self.error_class, "reason": getattr(self, "reason", None)}


class SecretUnavailable(NotSent):
    """The secret holding the Meta token (and API keys) could not be read: slow, missing or not JSON.

    Its own class, not a MetaError: Meta was never asked, and the secret error metric counts it.
    """

    error_class = "secret"

    def __init__(self, secret_name: str, reason: str) -> None:
        super().__init__(f"the secret {secret_name!r} could not be read ({reason})")
        self.secret_name = secret_name
        self.reason = reason


class DeliveryStopped(NotSent):
    """A delivery stopped before its next Graph call: the invocation's deadline is near, or its call
    budget is spent. What it had not settled is queued."""

    error_class = "stopped"

    def __init__(self, reason: str) -> None:
        super().__init__(f"delivery stopped: {reason}")
        self.reason = reason
