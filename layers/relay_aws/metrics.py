"""Relay outcomes → CloudWatch metrics (EMF through Powertools), names from metric_names.

One dimension only (`service`, which Powertools adds): coverage and rates are computed on the
dashboard with metric math, e.g. coverage of em = MatchKeyEm / (EventsSent + EventsQueued).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from relay_aws import metric_names as names

_COUNT = "Count"  # aws_lambda_powertools.metrics.MetricUnit.Count, without importing the enum here


def record_relay(metrics: Any, result: Any) -> None:
    """Counts of one POST /events (a capi_relay RelayResult); zeros too, so sums and ratios stay defined."""
    add = metrics.add_metric
    add(name=names.EVENTS_RECEIVED, unit=_COUNT, value=result.received)
    add(name=names.EVENTS_SENT, unit=_COUNT, value=result.sent)
    add(name=names.EVENTS_QUEUED, unit=_COUNT, value=result.queued)
    add(name=names.EVENTS_REJECTED, unit=_COUNT, value=result.rejected)
    add(name=names.EVENTS_DEAD_LETTERED, unit=_COUNT, value=result.dead_lettered)
    for key, metric in names.MATCH_KEYS.items():
        add(name=metric, unit=_COUNT, value=(result.match_keys or {}).get(key, 0))
    record_meta_errors(metrics, result.meta_errors or ())


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
    add(name=names.EVENTS_SENT, unit=_COUNT, value=sent)
    add(name=names.EVENTS_DEAD_LETTERED, unit=_COUNT, value=dead_lettered)
    if requeued:
        add(name=names.EVENTS_QUEUED, unit=_COUNT, value=requeued)


def record_meta_errors(metrics: Any, errors: Iterable[Any]) -> None:
    """MetaErrors plus one metric per class (MetaErrorsToken feeds the token alarm)."""
    by_class: dict[str, int] = {}
    for error in errors:
        summary = error.summary() if hasattr(error, "summary") else error
        error_class = summary.get("error_class", "meta")
        by_class[error_class] = by_class.get(error_class, 0) + 1
    if not by_class:
        return
    metrics.add_metric(name=names.META_ERRORS, unit=_COUNT, value=sum(by_class.values()))
    for error_class, count in by_class.items():
        metric = names.META_ERRORS_BY_CLASS.get(error_class)
        if metric:
            metrics.add_metric(name=metric, unit=_COUNT, value=count)
