"""One compact CloudWatch EMF document per invocation, holding only the counts that are not zero.

CloudWatch bills every byte a function writes to its log group and every metric-hour it receives.
Powertools' Metrics writes every metric added (zeros too), as lists of floats, after validating the
document against a schema on each flush. This writes `{"_aws": ..., "service": ..., "<name>": n}`
once, with no document at all when nothing happened, and costs a dict update per metric.
`add_metric(name=..., unit=..., value=...)` keeps Powertools' signature, so relay_aws.metrics serves
both and tests/integration/test_template_monitoring.py finds every name this emits.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from relay_aws import metric_names


class Metrics:
    """Counts of one invocation, printed as one EMF line by `flush` (or by the `log_metrics` wrapper)."""

    def __init__(self, namespace: str = metric_names.NAMESPACE, service: str = metric_names.SERVICE) -> None:
        # the document's fixed parts, serialized once per container
        self._head = '{"_aws":{"Timestamp":'
        self._directive = (
            f',"CloudWatchMetrics":[{{"Namespace":{json.dumps(namespace)},'
            f'"Dimensions":[["{metric_names.SERVICE_DIMENSION}"]],"Metrics":['
        )
        self._service = f'"{metric_names.SERVICE_DIMENSION}":{json.dumps(service)}'
        self._values: dict[str, float] = {}
        self._units: dict[str, str] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        """Add to this invocation's count of `name`; a zero is not written (CloudWatch bills the hour)."""
        if value:
            self._values[name] = self._values.get(name, 0) + value
            self._units[name] = unit

    def document(self) -> str | None:
        """The EMF line for what was added so far, or None when every count is zero."""
        values = self._values
        if not values:
            return None
        units = self._units
        declared = ",".join(f'{{"Name":"{name}","Unit":"{units[name]}"}}' for name in values)
        counts = ",".join(f'"{name}":{_number(value)}' for name, value in values.items())
        stamp = int(time.time() * 1000)
        return f"{self._head}{stamp}{self._directive}{declared}]}}]}},{self._service},{counts}}}"

    def flush(self) -> None:
        """Print the document (Lambda sends stdout to CloudWatch Logs, which extracts the metrics)."""
        line = self.document()
        self._values, self._units = {}, {}
        if line is not None:
            sys.stdout.write(line + "\n")

    def log_metrics(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Flush after each invocation, whatever it returned or raised (Powertools' decorator name)."""

        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            try:
                return handler(event, context)
            finally:
                self.flush()

        return wrapper


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
