"""`python -m bench.cost_table [build/bench.json]`: docs/benchmarks.md's cost table, from the model's figures.

The table in the docs is pasted from this output, so it always says what bench/cost.py computed from
the last `make bench` (measured log bytes and handler CPU), never a hand-edited number.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def table(money: dict) -> str:
    lines = [
        "| events / month | HttpApi, 1 event a request | FunctionUrl, 1 event a request "
        "| 100 events a request | CAPI Gateway on App Runner |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in money["rows"]:
        cells = [
            f"${row[k]['total']:,.2f}" for k in ("relay", "relay_function_url", "relay_batched", "gateway")
        ]
        lines.append(f"| {row['events_per_month']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def crossover_lines(money: dict) -> list[str]:
    """For each front door, where Meta's Gateway starts to cost less (one event a request)."""
    lines = []
    for door, key in (
        ("HttpApi", "break_even_events_per_month"),
        ("FunctionUrl", "break_even_events_per_month_function_url"),
    ):
        even = money.get(key)
        lines.append(
            f"{door}: the Gateway costs less above ~{even / 1e6:.0f}M one-event requests a month"
            if even
            else f"{door}: the relay costs less at every volume modelled"
        )
    return lines


def crossovers(money: dict) -> str:
    return "; ".join(crossover_lines(money))


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else ROOT / "build" / "bench.json"
    money = json.loads(path.read_text(encoding="utf-8"))["details"]["cost"]
    print(table(money))
    print()
    print(crossovers(money))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
