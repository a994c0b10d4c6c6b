"""CloudWatch reads and writes for the volume watch: hourly sums of one metric, and one datum out."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

PERIOD_S = 3600  # one bucket per hour: the volume windows are whole hours
MAX_PAGES = 50  # GetMetricData pages hold 100,800 points; a week of hours needs one


@lru_cache(maxsize=4)
def _client_for(endpoint_url: str | None) -> Any:
    # boto3 reads AWS_ENDPOINT_URL by itself; the cache key only gives a changed endpoint (local mode,
    # tests) its own client. In Lambda this runs once per container.
    import boto3  # lazily: modules that import this one but never call it pay nothing
    from botocore.config import Config

    config = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("cloudwatch", config=config)


def client() -> Any:
    """The container's CloudWatch client, created on first use."""
    return _client_for(os.environ.get("AWS_ENDPOINT_URL"))


def _dimensions(dimensions: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in dimensions.items()]


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def hourly_sums(
    namespace: str, metric_name: str, dimensions: Mapping[str, str], start: int, end: int
) -> dict[int, float]:
    """Sum of `metric_name` per hour in [start, end): hour start (epoch s) → sum; hours without data absent.

    `start` and `end` should be whole hours: CloudWatch then returns buckets that start on the hour,
    each entirely inside or outside any whole-hour window the caller sums over.
    """
    request: dict[str, Any] = {
        "MetricDataQueries": [
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric_name,
                        "Dimensions": _dimensions(dimensions),
                    },
                    "Period": PERIOD_S,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
        ],
        "StartTime": _utc(start),
        "EndTime": _utc(end),
        "ScanBy": "TimestampAscending",
    }
    sums: dict[int, float] = {}
    for _ in range(MAX_PAGES):
        page = client().get_metric_data(**request)
        for result in page.get("MetricDataResults", []):
            for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=True):
                sums[int(stamp.timestamp())] = float(value)
        token = page.get("NextToken")
        if not token:
            return sums
        request["NextToken"] = token
    raise RuntimeError(f"GetMetricData for {metric_name} still paging after {MAX_PAGES} pages")


def put_metric(
    namespace: str,
    metric_name: str,
    value: float,
    *,
    dimensions: Mapping[str, str],
    timestamp: float,
    unit: str = "None",
) -> None:
    """Publish one datapoint stamped `timestamp` (epoch s): a re-run for an hour lands on that hour."""
    client().put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric_name,
                "Dimensions": _dimensions(dimensions),
                "Timestamp": _utc(timestamp),
                "Value": value,
                "Unit": unit,
            }
        ],
    )
