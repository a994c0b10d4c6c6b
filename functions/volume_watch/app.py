"""Hourly schedule: compare EventsReceived with the same hours a week earlier; publish VolumeChangePercent.

The VolumeDropAlarm in template.yaml fires on VolumeChangePercent below −VolumeDropThresholdPercent.
"""

from __future__ import annotations

import time
from datetime import datetime

from aws_lambda_powertools import Logger

from capi_relay import volume
from relay_aws import cloudwatch, metric_names, settings

logger = Logger()  # service name and level come from the template
_settings = settings.load()  # once per container
NAMESPACE = _settings.metrics_namespace
DIMENSIONS = {metric_names.SERVICE_DIMENSION: _settings.service}  # the dimension Powertools Metrics adds
LOOKBACK_HOURS = _settings.lookback_hours


def scheduled_time(event: dict) -> float:
    """EventBridge's `time` (the scheduled minute), so a retried invocation checks the same hours."""
    try:
        return datetime.fromisoformat(event["time"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return time.time()  # invoked by hand without a schedule event


@logger.inject_lambda_context
def lambda_handler(event: dict, context: object) -> dict:
    current = volume.lookback_window(scheduled_time(event), LOOKBACK_HOURS)
    baseline = volume.week_before(current)
    hourly = cloudwatch.hourly_sums(
        NAMESPACE, metric_names.EVENTS_RECEIVED, DIMENSIONS, start=baseline.start, end=current.end
    )
    change = volume.compare(hourly, current, baseline)
    if change.change_percent is not None:  # no baseline, no percent: NoEventsAlarm covers silence
        cloudwatch.put_metric(
            NAMESPACE,
            metric_names.VOLUME_CHANGE_PERCENT,
            change.change_percent,
            dimensions=DIMENSIONS,
            timestamp=current.end,
            unit="Percent",
        )
    logger.info("volume checked", window_end=current.end, hours=LOOKBACK_HOURS, **change.to_dict())
    return change.to_dict()
