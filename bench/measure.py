"""Timing and profiling helpers: medians of repeated runs with warm-up, interleaved between contenders.

The clock is this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not the wall clock: time spent waiting for
a core that other processes hold is not counted, so a busy machine slows both sides without skewing them.
Interleaving (A, B, A, B, ...) means what contention remains (caches, frequency) hits both sides alike;
the garbage collector is off while timing, as in `timeit`. Each round brings fresh inputs, so caches
only help where real traffic would let them (repeated names, cities, states), never for a new person.
"""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
import statistics
import time
from collections.abc import Callable


def interleaved_medians(
    contenders: dict[str, Callable[[int], object]], *, repeats: int, warmup: int = 3
) -> dict[str, dict]:
    """Median, min and all samples (CPU ns) of each callable, run `repeats` times in turn after `warmup`.

    Each callable gets the round number (0 … warmup + repeats - 1), so that every round can work on
    its own inputs: the same inputs for every contender within a round.
    """
    for round_ in range(warmup):
        for run in contenders.values():
            run(round_)
    samples: dict[str, list[int]] = {name: [] for name in contenders}
    wall: dict[str, list[int]] = {name: [] for name in contenders}
    gc_was_enabled = gc.isenabled()
    try:
        for round_ in range(warmup, warmup + repeats):
            for name, run in contenders.items():
                gc.collect()
                gc.disable()
                start, start_wall = time.thread_time_ns(), time.perf_counter_ns()
                run(round_)
                samples[name].append(time.thread_time_ns() - start)
                wall[name].append(time.perf_counter_ns() - start_wall)
                gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
    return {
        name: {
            "median_ns": statistics.median(values),
            "min_ns": min(values),
            "wall_median_ns": statistics.median(wall[name]),
            "samples_ns": values,
        }
        for name, values in samples.items()
    }


def profile(run: Callable[[], object], *, top: int = 15, root: str = "") -> dict:
    """cProfile of one call: the functions with the most own time, as file:function and share of the total."""
    profiler = cProfile.Profile(time.thread_time)  # CPU time: preemption on a busy machine is not counted
    profiler.enable()
    run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt or 1e-12
    rows = []
    for (filename, line, function), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        rows.append(
            {
                "where": f"{_short(filename, root)}:{function}",
                "line": line,
                "calls": calls,
                "own_share": tottime / total,
                "cum_share": cumtime / total,
            }
        )
    by_own = sorted(rows, key=lambda row: row["own_share"], reverse=True)[:top]
    ours = [row for row in rows if row["where"].startswith(("capi_relay/", "relay_aws/"))]
    by_cum = sorted(ours, key=lambda row: row["cum_share"], reverse=True)[:top]
    return {"total_s": total, "by_own_time": by_own, "ours_by_cumulative": by_cum}


def _short(filename: str, root: str) -> str:
    """layers/capi_relay/normalize.py -> capi_relay/normalize.py; site-packages/x/y.py -> x/y.py."""
    path = filename.replace(os.sep, "/")
    for marker in ("/layers/", "/site-packages/", "/lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "/lib/python3" and "/" in tail else tail
    if root and path.startswith(root):
        return path[len(root) :].lstrip("/")
    return path
