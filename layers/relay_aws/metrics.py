"""Relay outcomes → CloudWatch metrics (EMF), names from metric_names; zero counts are not written.

One dimension only (`service`): rates are computed with metric math (alarms, dashboard). A count of
zero is left out (CloudWatch bills a custom metric for each hour it receives a value; the alarms fill
a missing value with 0). Match-key coverage is not a metric: see metric_names.MATCH_KEY_LOG_FIELDS.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from relay_aws import metric_names as names

_COUNT = "Count"  # aws_lambda_powertools.metrics.MetricUnit.Count, without importing the enum here


def record_relay(metrics: Any, result: Any) -> None:
    """Counts of one POST /events (a capi_relay RelayResult), those above zero."""
    add = metrics.add_metric
    add(name=names.EVENTS_RECEIVED, unit=_COUNT, value=result.received)
    if result.sent:
        add(name=names.EVENTS_SENT, unit=_COUNT, value=result.sent)
    if result.queued:
        add(name=names.EVENTS_QUEUED, unit=_COUNT, value=result.queued)
    if result.rejected:
        add(name=names.EVENTS_REJECTED, unit=_COUNT, value=result.rejected)
    if result.dead_lettered:
        add(name=names.EVENTS_DEAD_LETTERED, unit=_COUNT, value=result.dead_lettered)
    if result.meta_errors:
        record_meta_errors(metrics, result.meta_errors)


def outcome_fields(result: Any) -> dict[str, Any]:
    """The fields of the one INFO line per request: counts above zero, match-key counts, warning codes
    and Meta error summaries; never values (event ids are never logged: the answer carries them)."""
    fields: dict[str, Any] = {"status": result.status, "count": result.received}
    for name in ("sent", "queued", "rejected", "dead_lettered"):
        if value := getattr(result, name):
            fields[name] = value
    accepted = result.received - result.rejected
    if accepted:
        fields[names.ACCEPTED_LOG_FIELD] = accepted
    for key, count in (result.match_keys or {}).items():
        if count and key in names.MATCH_KEY_LOG_FIELDS:
            fields[names.MATCH_KEY_LOG_FIELDS[key]] = count
    if result.warnings:
        fields["warnings"] = sorted({f"{w.get('field')}:{w.get('code')}" for w in result.warnings})
    if result.meta_errors:
        fields["meta_errors"] = result.meta_errors  # rare, and what an operator needs (fbtrace_id)
    return fields


def record_refused(metrics: Any, error: Any) -> None:
    """A request refused as a whole (a capi_relay Refused).

    401 and 403 (who is calling, not what was sent) count one RequestsRefused and no events: a stranger's
    requests must not raise EventsReceived and hide a real drop. Other refusals (400, 413) count their
    events as received and rejected.
    """
    if error.status in (401, 403):
        metrics.add_metric(name=names.REQUESTS_REFUSED, unit=_COUNT, value=1)
        return
    refused = len({e.index for e in error.errors}) or 1  # index None: the request itself, one unit
    metrics.add_metric(name=names.EVENTS_RECEIVED, unit=_COUNT, value=refused)
    metrics.add_metric(name=names.EVENTS_REJECTED, unit=_COUNT, value=refused)


def record_redelivery(metrics: Any, *, sent: int = 0, dead_lettered: int = 0, requeued: int = 0) -> None:
    """Counts of one retried message; EventsReceived is not counted again (the ingest counted it)."""
    add = metrics.add_metric
    if sent:
        add(name=names.EVENTS_SENT, unit=_COUNT, value=sent)
    if dead_lettered:
        add(name=names.EVENTS_DEAD_LETTERED, unit=_COUNT, value=dead_lettered)
    if requeued:
        add(name=names.EVENTS_QUEUED, unit=_COUNT, value=requeued)


def record_meta_errors(metrics: Any, errors: Iterable[Any]) -> None:
    """One metric per class of Graph error (MetaErrorsToken feeds the token alarm); no total. An
    unreadable secret is SecretErrors instead (Meta was never asked); a delivery stopped by its deadline
    or call budget is no error at all (its events are queued and counted there)."""
    by_class: dict[str, int] = {}
    for error in errors:
        summary = error.summary() if hasattr(error, "summary") else error
        error_class = summary.get("error_class", "meta")
        by_class[error_class] = by_class.get(error_class, 0) + 1
    secret = by_class.pop("secret", 0)
    if secret:
        record_secret_error(metrics, secret)
    by_class.pop("stopped", None)
    for error_class, count in by_class.items():
        metric = names.META_ERRORS_BY_CLASS.get(error_class)
        if metric:
            metrics.add_metric(name=metric, unit=_COUNT, value=count)


def record_secret_error(metrics: Any, count: int = 1) -> None:
    """The secret could not be read and no last good value was at hand."""
    metrics.add_metric(name=names.SECRET_ERRORS, unit=_COUNT, value=count)
