"""The volume-watch handler against a real CloudWatch API (moto in server mode, over HTTP).

The moto server is the session's (tests/conftest.py `moto_server`, a subprocess in server mode).
Each test uses its own schedule time (weeks apart) and its own `service` dimension, so the data of
one test never falls into another's windows. Moto quirk worked around, not faked: when a query has
dimensions, moto's GetMetricData matches name + dimensions but ignores the namespace, so no test
writes the same name and dimensions into two namespaces.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from local.functions import load_handler
from tests.integration.lambda_events import LambdaContext, sample

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
NAMESPACE = "CapiRelay"
_test_serial = itertools.count(1)


@pytest.fixture
def cloudwatch(moto_server):
    """A client of the session's moto server (tests/conftest.py), the one the handler talks to."""
    return moto_server.client("cloudwatch")


@pytest.fixture
def service() -> str:
    """A `service` dimension of this test's own."""
    return f"capi-relay-t{next(_test_serial)}"


@pytest.fixture
def schedule_time() -> datetime:
    """This test's scheduled run: five past an hour, a different month for every test."""
    return datetime(2025, 1, 6, 10, 5, tzinfo=UTC) + timedelta(days=35 * next(_test_serial))


@pytest.fixture
def watch(moto_server, monkeypatch, service):
    """The handler as Lambda runs it, with the template's environment pointed at the moto server."""

    def run(when: datetime, **env: str) -> dict:
        for name, value in {
            **moto_server.env,
            "POWERTOOLS_SERVICE_NAME": service,
            "METRICS_NAMESPACE": NAMESPACE,
            "LOOKBACK_HOURS": "24",
            **env,
        }.items():
            monkeypatch.setenv(name, value)
        handler = load_handler("volume_watch")
        return handler(schedule_event(when), LambdaContext())

    return run


def schedule_event(when: datetime) -> dict:
    """events/schedule.json (what the hourly EventBridge rule delivers) scheduled at `when`."""
    event = sample("schedule.json")
    event["time"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def put_events_received(cloudwatch, service: str, points: list[tuple[datetime, float]]) -> None:
    """EventsReceived datapoints at explicit timestamps, as the ingest handler's EMF lines would create."""
    data = [
        {
            "MetricName": "EventsReceived",
            "Dimensions": [{"Name": "service", "Value": service}],
            "Timestamp": stamp,
            "Value": value,
            "Unit": "Count",
        }
        for stamp, value in points
    ]
    for start in range(0, len(data), 500):  # PutMetricData takes up to 1000 datapoints a call
        cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + 500])


def spread(total: int, window_end: datetime, hours: int = 24) -> list[tuple[datetime, float]]:
    """`total` events spread over the `hours` whole hours before `window_end`, several datapoints an hour."""
    per_hour, rest = divmod(total, hours)
    points = []
    for i in range(hours):
        hour_start = window_end - (hours - i) * HOUR
        count = per_hour + (rest if i == 0 else 0)
        points.append((hour_start + timedelta(minutes=1), count // 2))
        points.append((hour_start + timedelta(minutes=59), count - count // 2))
    return points


def window_end(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)


def published_change(cloudwatch, service: str, at: datetime) -> list[float]:
    """VolumeChangePercent datapoints (unit Percent) in the hour starting `at`, read back from CloudWatch."""
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "v",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": "VolumeChangePercent",
                        "Dimensions": [{"Name": "service", "Value": service}],
                    },
                    "Period": 3600,
                    "Stat": "Average",
                    "Unit": "Percent",  # only datapoints published with this unit match
                },
            }
        ],
        StartTime=at,
        EndTime=at + HOUR,
    )
    return result["MetricDataResults"][0]["Values"]


def test_volume_drop_of_thirty_percent_is_published_as_minus_thirty(
    watch, cloudwatch, service, schedule_time
):
    # Given 1000 events in the last 24 complete hours a week ago and 700 in the last 24 complete hours
    end = window_end(schedule_time)
    put_events_received(cloudwatch, service, spread(1000, end - WEEK) + spread(700, end))
    # When the hourly schedule runs at five past the hour
    result = watch(schedule_time)
    # Then the handler reports −30 % and the alarm's metric holds −30 at the hour the window ends
    assert result == {"current": 700, "baseline": 1000, "change_percent": -30.0}
    assert published_change(cloudwatch, service, end) == [-30.0]


def test_volume_rise_is_published_as_a_positive_percent(watch, cloudwatch, service, schedule_time):
    # Given 400 events in the baseline hours and 1000 in the current ones
    end = window_end(schedule_time)
    put_events_received(cloudwatch, service, spread(400, end - WEEK) + spread(1000, end))
    # When the schedule runs
    result = watch(schedule_time)
    # Then the change is +150 %
    assert result == {"current": 1000, "baseline": 400, "change_percent": 150.0}
    assert published_change(cloudwatch, service, end) == [150.0]


def test_same_volume_as_last_week_is_published_as_zero(watch, cloudwatch, service, schedule_time):
    # Given the same 960 events in both windows, spread differently over the hours
    end = window_end(schedule_time)
    put_events_received(cloudwatch, service, spread(960, end - WEEK) + spread(960, end, hours=3))
    # When the schedule runs
    result = watch(schedule_time)
    # Then the change is 0 and 0 is published (an alarm needs to see the recovery)
    assert result == {"current": 960, "baseline": 960, "change_percent": 0.0}
    assert published_change(cloudwatch, service, end) == [0.0]


def test_events_that_stopped_entirely_are_published_as_minus_one_hundred(
    watch, cloudwatch, service, schedule_time
):
    # Given events a week ago and none at all since
    end = window_end(schedule_time)
    put_events_received(cloudwatch, service, spread(500, end - WEEK))
    # When the schedule runs
    result = watch(schedule_time)
    # Then the drop is −100 %
    assert result == {"current": 0, "baseline": 500, "change_percent": -100.0}
    assert published_change(cloudwatch, service, end) == [-100.0]


def test_no_baseline_publishes_nothing_and_returns_null(watch, cloudwatch, service, schedule_time):
    # Given a new deployment: events now, nothing a week ago
    end = window_end(schedule_time)
    put_events_received(cloudwatch, service, spread(300, end))
    # When the schedule runs
    result = watch(schedule_time)
    # Then there is no percent to report and no VolumeChangePercent metric exists for this service
    assert result == {"current": 300, "baseline": 0, "change_percent": None}
    listed = cloudwatch.list_metrics(
        Namespace=NAMESPACE,
        MetricName="VolumeChangePercent",
        Dimensions=[{"Name": "service", "Value": service}],
    )["Metrics"]
    assert listed == []


def test_windows_are_whole_hours_so_the_hour_in_progress_and_older_hours_are_left_out(
    watch, cloudwatch, service, schedule_time
):
    # Given 100 events in each window, plus events just outside both: in the hour in progress
    # (after the window end) and in the hour before each window starts
    end = window_end(schedule_time)
    outside = [
        (end + timedelta(minutes=2), 5000),  # the hour in progress: still filling
        (end - 24 * HOUR - timedelta(minutes=1), 7000),  # just before the current window
        (end - WEEK - 24 * HOUR - timedelta(seconds=1), 9000),  # just before the baseline window
        (end - WEEK + timedelta(seconds=1), 3000),  # just after the baseline window
    ]
    put_events_received(cloudwatch, service, spread(100, end - WEEK) + spread(100, end) + outside)
    # When the schedule runs at five past the hour
    result = watch(schedule_time)
    # Then only the whole hours inside each window count
    assert result == {"current": 100, "baseline": 100, "change_percent": 0.0}


def test_lookback_hours_setting_narrows_both_windows(watch, cloudwatch, service, schedule_time):
    # Given 200 events in the last 3 hours (and a week earlier) but 5000 more 4–24 hours ago
    end = window_end(schedule_time)
    put_events_received(
        cloudwatch,
        service,
        spread(200, end - WEEK, hours=3) + spread(100, end, hours=3) + [(end - 10 * HOUR, 5000)],
    )
    # When the watch looks back 3 hours
    result = watch(schedule_time, LOOKBACK_HOURS="3")
    # Then only those 3 hours are compared
    assert result == {"current": 100, "baseline": 200, "change_percent": -50.0}


def test_published_metric_has_the_namespace_and_only_the_service_dimension(
    watch, cloudwatch, service, schedule_time
):
    # Given a week-over-week drop
    end = window_end(schedule_time)
    put_events_received(cloudwatch, service, spread(100, end - WEEK) + spread(80, end))
    # When the schedule runs
    watch(schedule_time)
    # Then ListMetrics shows VolumeChangePercent under CapiRelay with only the service dimension
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE, MetricName="VolumeChangePercent")["Metrics"]
    ours = [m for m in listed if m["Dimensions"] == [{"Name": "service", "Value": service}]]
    assert len(ours) == 1
    assert ours[0]["Namespace"] == NAMESPACE
    assert published_change(cloudwatch, service, end) == [-20.0]
