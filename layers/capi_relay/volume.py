"""Week-over-week event volume: which hours to compare and by how much they changed (no AWS here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from capi_relay.json_types import JsonObject

HOUR_S = 3600
WEEK_S = 7 * 24 * HOUR_S
MAX_LOOKBACK_HOURS = 7 * 24


class Window(NamedTuple):
    """A span of whole hours, epoch seconds: `start` included, `end` excluded."""

    start: int
    end: int

    def shifted(self, seconds: int) -> Window:
        return Window(self.start + seconds, self.end + seconds)

    def hour_starts(self) -> range:
        """The start of every hour inside the window: the keys of an hourly series."""
        return range(self.start, self.end, HOUR_S)


class VolumeChange(NamedTuple):
    """The outcome of one volume check; `change_percent` is None when there is no baseline to compare."""

    current: float
    baseline: float
    change_percent: float | None

    def to_dict(self) -> JsonObject:
        return {
            "current": _count(self.current),
            "baseline": _count(self.baseline),
            "change_percent": self.change_percent,
        }


def _count(total: float) -> int | float:
    """Sums of a Count metric are whole numbers: show 1000, not 1000.0."""
    return int(total) if float(total).is_integer() else total


def lookback_window(now: float, hours: int) -> Window:
    """The last `hours` complete hours before `now`.

    The window ends on the hour boundary at or before `now`: the hour in progress is still filling
    (and its metrics still arriving), so counting it would always look like a drop against a complete
    hour a week earlier. Whole hours also match CloudWatch's 1-hour buckets exactly, so each bucket
    lies entirely inside one window.
    """
    if not 1 <= hours <= MAX_LOOKBACK_HOURS:
        # Longer than a week and the two windows overlap: the comparison would measure itself.
        raise ValueError(f"lookback must be 1..{MAX_LOOKBACK_HOURS} hours, got {hours}")
    end = int(now) // HOUR_S * HOUR_S
    return Window(end - hours * HOUR_S, end)


def week_before(window: Window) -> Window:
    """The same hours of the same weekdays one week earlier: traffic has daily and weekly seasonality."""
    return window.shifted(-WEEK_S)


def window_total(hourly: Mapping[int, float], window: Window) -> float:
    """Sum of an hourly series (hour start → value) over the hours of `window`; missing hours count 0."""
    return float(sum(hourly.get(hour, 0.0) for hour in window.hour_starts()))


def percent_change(current: float, baseline: float) -> float | None:
    """(current − baseline) / baseline × 100, or None without a baseline: no change is defined from 0."""
    if baseline <= 0:
        return None
    return (current - baseline) * 100.0 / baseline  # ×100 first: 1000 → 700 is exactly -30.0


def compare(hourly: Mapping[int, float], current: Window, baseline: Window) -> VolumeChange:
    """Total both windows of one hourly series and the percent change between them."""
    now_total = window_total(hourly, current)
    then_total = window_total(hourly, baseline)
    return VolumeChange(now_total, then_total, percent_change(now_total, then_total))
