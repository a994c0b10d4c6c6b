"""CloudWatch's embedded-metric-format extraction, emulated: EMF lines on stdout → PutMetricData.

In Lambda, Powertools prints metrics as EMF JSON and CloudWatch Logs turns them into metrics. Local
mode has no CloudWatch Logs, so this tee does it against the moto server; `aws cloudwatch
get-metric-statistics` and the volume watch then see what a deployed stack would.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO


def metric_data(emf: dict) -> list[tuple[str, list[dict]]]:
    """(namespace, MetricData) pairs for one EMF document; [] when it is not one."""
    directive = emf.get("_aws") if isinstance(emf, dict) else None
    if not isinstance(directive, dict):
        return []
    stamp = datetime.fromtimestamp(directive.get("Timestamp", 0) / 1000, UTC)
    out = []
    for group in directive.get("CloudWatchMetrics") or []:
        data = []
        for dimension_set in group.get("Dimensions") or [[]]:
            dimensions = [{"Name": d, "Value": str(emf[d])} for d in dimension_set if d in emf]
            for metric in group.get("Metrics") or []:
                value = emf.get(metric.get("Name"))
                values = value if isinstance(value, list) else [value]
                values = [float(v) for v in values if isinstance(v, int | float)]
                if values:
                    data.append(
                        {
                            "MetricName": metric["Name"],
                            "Dimensions": dimensions,
                            "Timestamp": stamp,
                            "Unit": metric.get("Unit", "None"),
                            "Values": values,
                        }
                    )
        if data:
            out.append((group.get("Namespace", ""), data))
    return out


class MetricsBridge:
    """Wraps a text stream: writes pass through unchanged; EMF documents are also sent to CloudWatch."""

    def __init__(self, stream: TextIO, cloudwatch: Any) -> None:
        self._stream = stream
        self._cloudwatch = cloudwatch
        self._queue: queue.Queue[tuple[str, list[dict]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._forward, name="emf-bridge", daemon=True)
        self._thread.start()

    def write(self, text: str) -> int:
        if text.startswith("{") and '"_aws"' in text:
            try:
                for item in metric_data(json.loads(text)):
                    self._queue.put(item)
            except ValueError:
                pass
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, then stop the sender thread."""
        self._queue.put(None)
        self._thread.join(timeout=timeout)

    def _forward(self) -> None:
        while (item := self._queue.get()) is not None:
            namespace, data = item
            try:
                for start in range(0, len(data), 20):  # PutMetricData takes at most 20 data a call
                    self._cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + 20])
            except Exception as error:  # a lost local metric must not take the relay down
                if sys.__stderr__ is not None:  # None when Python started without a stderr
                    sys.__stderr__.write(f"metrics bridge: PutMetricData failed: {type(error).__name__}\n")
