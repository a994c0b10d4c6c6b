"""POST /events, the use case: parse → enrich → normalize → validate → send, or queue, or refuse.

A valid event is never lost: it reaches Meta, or the retry queue, or (refused by Meta) the DLQ; when
the queue cannot take it either, QueueUnavailable (503) tells the caller to send again. Raw customer
data stays in this function's memory: the queue only ever sees normalized, hashed events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from capi_relay.auth import (
    authenticate_caller,
    check_browser_capability,
    check_event_sources,
    choose_pixel,
    refuse_unsigned_inputs,
)
from capi_relay.consent import CONSENT_FIELD, Consent, apply_consent, read_consent
from capi_relay.delivery import (
    Delivery,
    Limits,
    Sender,
    dead_letter_message,
    deliver,
    messages,
    rejected_groups,
    retry_message,
)
from capi_relay.enrich import enrich_event
from capi_relay.errors import BadRequest, FieldError, QueueUnavailable
from capi_relay.field_paths import PLACEHOLDER, USER_DATA_FIELDS, safe_path
from capi_relay.model import CredentialSource, EventWarning, IngestRequest, RelayConfig, RelayResult, Sink
from capi_relay.normalize import Memo, normalize_user_data
from capi_relay.parse import parse_body
from capi_relay.privacy_filter import filter_event
from capi_relay.validate import validate_event

if TYPE_CHECKING:
    from capi_relay.errors import PermanentMetaError
    from capi_relay.json_types import JsonObject
    from capi_relay.meta_client import MetaClient

MATCH_KEYS = ("em", "ph", "fbp", "fbc", "external_id")


def prepare_event(
    event: JsonObject,
    index: int,
    request: IngestRequest,
    config: RelayConfig,
    now: float,
    consent: Consent,
    memo: Memo | None = None,
    *,
    browser: bool = False,
) -> tuple[JsonObject, list[EventWarning], list[FieldError]]:
    """One event made ready for Meta: (event, warnings {"index", "field", "code"}, errors).

    `memo` is normalize_user_data's: one dict for all the events of a request, dropped with it.
    `browser`: the caller was admitted by its Origin alone, so the connection's IP is the only one.
    """
    event, found = enrich_event(event, request, config, now, browser=browser)
    # after enrichment (a Referer may have become event_source_url), before anything is queued or sent
    event, filtered = filter_event(event)
    if filtered:
        found += filtered
    # consent after enrichment (cookies it added may have to go), before hashing and validation
    event = apply_consent(event, consent, config)
    user_data, dropped = normalize_user_data(event["user_data"], config.default_region, memo=memo)
    event["user_data"] = user_data
    warnings: list[EventWarning] = (
        [{"index": index, "field": w["field"], "code": w["code"]} for w in found] if found else []
    )
    if dropped:
        warnings += [
            {"index": index, "field": _user_data_path(w["field"]), "code": w["code"]} for w in dropped
        ]
    return event, warnings, validate_event(event, index, now)


def _user_data_path(field: str) -> str:
    """A normalize warning's field (a user_data key) as a path; a key that is not Meta's becomes "*"."""
    if field.startswith("user_data."):
        return safe_path(field)
    return f"user_data.{field if field in USER_DATA_FIELDS else PLACEHOLDER}"


def _pixel(body_pixel: object, query_pixel: str | None, config: RelayConfig) -> str:
    if body_pixel not in (None, "") and query_pixel and str(body_pixel) != query_pixel:
        raise BadRequest(
            [FieldError(None, "pixel_id", "pixel_id_conflict", "body and query name other pixels")]
        )
    return choose_pixel(body_pixel if body_pixel not in (None, "") else query_pixel, config.pixel_ids)


def count_match_keys(events: Sequence[JsonObject]) -> dict[str, int]:
    """How many events carry each identifier Meta matches on (for the match-quality metric)."""
    # unrolled over MATCH_KEYS: one bound get and local counters, run once per event of a batch
    em = ph = fbp = fbc = external_id = ip_ua = 0
    for event in events:
        get = (event.get("user_data") or {}).get
        if get("em"):
            em += 1
        if get("ph"):
            ph += 1
        if get("fbp"):
            fbp += 1
        if get("fbc"):
            fbc += 1
        if get("external_id"):
            external_id += 1
        if get("client_ip_address") and get("client_user_agent"):
            ip_ua += 1
    return {"em": em, "ph": ph, "fbp": fbp, "fbc": fbc, "external_id": external_id, "ip_ua": ip_ua}


def relay_request(
    request: IngestRequest,
    *,
    config: RelayConfig,
    client: MetaClient,
    credentials: CredentialSource,
    sink: Sink,
    now: float,
    all_or_nothing: bool = False,
    remaining: Callable[[], float] | None = None,
) -> RelayResult:
    """Relay one request's events (DESIGN.md §3); raises only BadRequest's family and QueueUnavailable.

    `all_or_nothing` (the Graph door): one invalid event refuses the request, as Meta does, so a
    client that sends the batch again after the error does not send its valid events twice.
    `remaining`: seconds left in this invocation; no Graph call (nor token refresh) starts that could
    not end before it, and what is left is queued.
    """
    # headers first: a stranger on a locked relay gets its 401/403 before any parsing is paid for
    credentialed = authenticate_caller(request, config, now)
    if credentialed:
        refuse_unsigned_inputs(request)
    parsed = parse_body(request.body, config)
    # admitted by its Origin alone (which anyone can forge): a browser's capability only
    browser = not credentialed and "origin" in request.headers
    if browser:
        check_browser_capability(parsed.events, config)
    if not credentialed:  # admitted without credentials: its events must name allowed pages
        check_event_sources(request, config, parsed.events)
    pixel_id = _pixel(parsed.pixel_id, request.query.get("pixel_id"), config)
    consent_body = {} if parsed.consent is None else {CONSENT_FIELD: parsed.consent}
    consent = read_consent(consent_body, request.headers)
    errors = list(parsed.errors)
    refused = {e.index for e in errors} if errors else ()
    warnings: list[EventWarning] = []
    indexes: list[int] = []
    ready: list[JsonObject] = []
    # values normalized for this request's events, never kept beyond it; one event shares nothing
    memo: Memo | None = {} if len(parsed.events) > 1 else None
    for index, raw in enumerate(parsed.events):
        if index in refused:
            continue
        event, found, invalid = prepare_event(
            raw, index, request, config, now, consent, memo, browser=browser
        )
        warnings += found
        if invalid:
            errors += invalid
        else:
            indexes.append(index)
            ready.append(event)
    if errors:  # parse found some, validation the others: by event
        errors.sort(key=_by_index)
    if not ready or (all_or_nothing and errors):
        raise BadRequest(errors)
    limits = Limits(
        config.max_graph_calls, remaining, reserve_s=config.queue_write_s, fetch_s=config.credentials_read_s
    )
    sender = Sender(client, pixel_id, credentials, parsed.test_event_code, limits, parsed.options)
    outcome = deliver(ready, sender, config.max_bisect_requests)
    dead_lettered = 0
    if outcome.pending or outcome.rejected:  # not all sent: the queues get the rest
        base = retry_message(
            pixel_id, parsed.test_event_code, [], outcome.pending_error, int(now), 1, parsed.options
        )
        _queue(ready, outcome, base, config, sink)
        dead_lettered = _dead_letter(ready, outcome, base, config, sink, now)
        errors += [_rejection(indexes[position], error) for position, error in outcome.rejected]
    return _result(parsed.events, indexes, ready, outcome, errors, warnings, sender, dead_lettered)


def _queue(
    ready: list[JsonObject], outcome: Delivery, base: JsonObject, config: RelayConfig, sink: Sink
) -> None:
    try:
        for group in outcome.pending_groups:
            for message in messages(base, [ready[i] for i in group], config.max_message_bytes):
                sink.retry(message)
    except Exception:  # the adapter's failure, whatever its type: neither Meta nor the queue took them
        raise QueueUnavailable("the retry queue is unavailable") from None


def _dead_letter(
    ready: list[JsonObject], outcome: Delivery, base: JsonObject, config: RelayConfig, sink: Sink, now: float
) -> int:
    count = 0
    try:
        for error, positions in rejected_groups(outcome):
            dead = dead_letter_message(base, [], "meta_rejected", now, error)
            for message in messages(dead, [ready[i] for i in positions], config.max_message_bytes):
                sink.dead_letter(message)
                count += len(message["data"])
    except Exception:
        raise QueueUnavailable("the dead-letter queue is unavailable") from None
    return count


def _by_index(error: FieldError) -> int:
    return error.index or 0


def _rejection(index: int, error: object) -> FieldError:
    code, subcode = getattr(error, "code", None), getattr(error, "subcode", None)
    message = f"Meta refused the event (graph code {code}, subcode {subcode})"
    return FieldError(index, "event", "meta_rejected", message)


def _error_dict(error: FieldError, refusals: dict[int | None, PermanentMetaError]) -> JsonObject:
    body = error.to_dict()
    meta = refusals.get(error.index) if error.code == "meta_rejected" else None
    if meta is not None:
        body.update(graph_code=meta.code, graph_subcode=meta.subcode, fbtrace_id=meta.fbtrace_id)
    return body


def _result(
    events: list[Any],
    indexes: list[int],
    ready: list[JsonObject],
    outcome: Delivery,
    errors: list[FieldError],
    warnings: list[EventWarning],
    sender: Sender,
    dead_lettered: int,
) -> RelayResult:
    delivered = sorted([*outcome.sent, *outcome.pending]) if outcome.pending else outcome.sent
    event_ids = [ready[i]["event_id"] for i in delivered]
    if errors:
        errors.sort(key=_by_index)
    queued = len(outcome.pending)
    if queued:
        status = 202
        body = {"queued": queued, "event_ids": event_ids, "events_received": outcome.events_received}
    elif outcome.sent:
        status = 200
        body = {
            "events_received": outcome.events_received,
            "event_ids": event_ids,
            "fbtrace_id": outcome.fbtrace_id,
        }
    else:
        status = 400  # every valid event was refused by Meta: the caller's data is at fault
        body = {}
    body["warnings"] = warnings
    if errors:
        refusals: dict[int | None, PermanentMetaError] = {
            indexes[position]: error for position, error in outcome.rejected
        }
        body["errors"] = [_error_dict(e, refusals) for e in errors]
    return RelayResult(
        status=status,
        body=body,
        received=len(events),
        sent=len(outcome.sent),
        queued=queued,
        rejected=len({e.index for e in errors}) if errors else 0,
        dead_lettered=dead_lettered,
        event_ids=event_ids,
        warnings=warnings,
        meta_errors=[error.summary() for error in sender.errors] if sender.errors else [],
        match_keys=count_match_keys(ready),
    )
