"""Week-over-week volume arithmetic: windows of whole hours and the percent change between them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from capi_relay.volume import (
    HOUR_S,
    WEEK_S,
    VolumeChange,
    Window,
    compare,
    lookback_window,
    percent_change,
    week_before,
    window_total,
)

MONDAY_10_05 = datetime(2025, 6, 2, 10, 5, 33, tzinfo=UTC).timestamp()
MONDAY_10_00 = int(datetime(2025, 6, 2, 10, 0, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("current", "baseline", "expected"),
    [(700, 1000, -30.0), (1500, 1000, 50.0), (1000, 1000, 0.0), (0, 1000, -100.0), (3, 7, -400 / 7)],
    ids=["drop", "rise", "same", "stopped", "fraction"],
)
def test_percent_change_against_a_baseline_is_relative_to_the_baseline(current, baseline, expected):
    # Given event totals now and a week ago / When compared / Then the change is relative to a week ago
    assert percent_change(current, baseline) == pytest.approx(expected)


def test_thirty_percent_drop_is_exactly_minus_thirty():
    # Given 1000 → 700 (where 0.3 × 100 in floating point would give -30.000000000000004)
    # When compared / Then the alarm threshold sees exactly -30
    assert percent_change(700, 1000) == -30.0


@pytest.mark.parametrize("baseline", [0, 0.0, -1])
def test_no_baseline_has_no_percent_change(baseline):
    # Given nothing a week ago / When compared / Then there is no change to speak of, not a division error
    assert percent_change(500, baseline) is None


def test_lookback_window_ends_on_the_last_whole_hour_before_now():
    # Given a run at 10:05:33 / When the last 24 hours are chosen
    window = lookback_window(MONDAY_10_05, 24)
    # Then they are the 24 whole hours up to 10:00, the hour in progress left out
    assert window == Window(MONDAY_10_00 - 24 * HOUR_S, MONDAY_10_00)
    assert len(window.hour_starts()) == 24


def test_lookback_window_at_an_exact_hour_ends_at_that_hour():
    # Given a run exactly on the hour / When the last 3 hours are chosen / Then that hour is the end
    assert lookback_window(MONDAY_10_00, 3) == Window(MONDAY_10_00 - 3 * HOUR_S, MONDAY_10_00)


@pytest.mark.parametrize("hours", [0, -1, 7 * 24 + 1])
def test_lookback_outside_one_hour_to_one_week_is_refused(hours):
    # Given a lookback that is empty or longer than the week between the windows
    # When a window is asked for / Then it is refused with the allowed range
    with pytest.raises(ValueError, match=r"1\.\.168 hours"):
        lookback_window(MONDAY_10_05, hours)


def test_baseline_is_the_same_hours_one_week_earlier():
    # Given the current window / When the baseline is taken
    # Then it is the same weekday and hours a week back
    current = lookback_window(MONDAY_10_05, 24)
    baseline = week_before(current)
    assert baseline == Window(current.start - WEEK_S, current.end - WEEK_S)
    assert datetime.fromtimestamp(baseline.end, UTC) == datetime(2025, 5, 26, 10, 0, tzinfo=UTC)


def test_window_total_counts_only_the_hours_inside_the_window():
    # Given an hourly series with hours before, inside and at the (excluded) end of a 2-hour window
    window = Window(MONDAY_10_00 - 2 * HOUR_S, MONDAY_10_00)
    hourly = {window.start - HOUR_S: 1000.0, window.start: 3.0, window.start + HOUR_S: 4.0, window.end: 500.0}
    # When totalled / Then only the two inside hours count
    assert window_total(hourly, window) == 7.0


def test_compare_totals_both_windows_of_one_series():
    # Given one hourly series with 1000 events a week ago and 700 now, one hour each
    current = lookback_window(MONDAY_10_05, 24)
    baseline = week_before(current)
    hourly = {baseline.start: 1000.0, current.end - HOUR_S: 700.0}
    # When compared
    change = compare(hourly, current, baseline)
    # Then the totals and the change are reported, counts as whole numbers
    assert change == VolumeChange(current=700.0, baseline=1000.0, change_percent=-30.0)
    assert change.to_dict() == {"current": 700, "baseline": 1000, "change_percent": -30.0}
    assert isinstance(change.to_dict()["current"], int)
