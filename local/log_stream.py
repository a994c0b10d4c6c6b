"""A Lambda function's CloudWatch log stream, emulated: what each invocation writes, and its bytes.

CloudWatch Logs bills every byte a function writes (application lines, EMF metric documents) plus
the lines Lambda adds around each invocation. Those depend on the function's LoggingConfig:

- LogFormat Text (Lambda's default): `START RequestId: ... Version: $LATEST`, `END RequestId: ...` and
  the tab-separated `REPORT RequestId: ...	Duration: ...` line, always.
- LogFormat JSON: `platform.start`, `platform.runtimeDone` and `platform.report` records, written only
  when SystemLogLevel is INFO or DEBUG (at WARN Lambda drops them). Lambda drops application records
  below ApplicationLogLevel itself; here Powertools does the same, from LOG_LEVEL.

`LogStream` wraps stdout (every write passes through) and counts what the handlers write; `wrap()`
turns a handler into one that writes the system lines around each call and records its bytes.
Handlers run one at a time (local.run's lock), so what is written during a call is the call's.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

TEXT, JSON_FORMAT = "Text", "JSON"
SYSTEM_LEVELS = ("DEBUG", "INFO", "WARN")


class LogStream:
    """stdout, counted: application and EMF bytes of the current invocation, and a record per call."""

    def __init__(
        self, stream: TextIO, *, log_format: str = JSON_FORMAT, system_level: str = "WARN", keep: int = 20_000
    ) -> None:
        if log_format not in (TEXT, JSON_FORMAT):
            raise ValueError(f"log format must be {TEXT} or {JSON_FORMAT}, not {log_format!r}")
        if system_level not in SYSTEM_LEVELS:
            raise ValueError(f"system log level must be one of {SYSTEM_LEVELS}, not {system_level!r}")
        self._stream = stream
        self.log_format = log_format
        self.system_level = system_level
        self._lock = threading.Lock()
        self._app = self._emf = 0
        self._last_was_emf = False
        self.invocations: deque[dict[str, Any]] = deque(maxlen=keep)

    # the text stream
    def write(self, text: str) -> int:
        size = len(text.encode("utf-8", "surrogateescape"))
        with self._lock:
            if '"_aws"' in text or (text == "\n" and self._last_was_emf):
                self._emf += size
                self._last_was_emf = text != "\n"
            else:
                self._app += size
                self._last_was_emf = False
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    # invocations
    def wrap(
        self, handler: Callable[[dict, Any], Any], function: str, memory_mb: int
    ) -> Callable[[dict, Any], Any]:
        """The handler, with Lambda's START/END/REPORT (or platform.*) lines and a byte count per call."""
        cold = [True]

        def invoke(event: dict, context: Any) -> Any:
            request_id = getattr(context, "aws_request_id", None) or str(uuid.uuid4())
            with self._lock:
                app0, emf0 = self._app, self._emf
            system = self._system(self._start_line(request_id))
            began, cpu = time.perf_counter(), time.thread_time()
            status = "success"
            try:
                return handler(event, context)
            except BaseException:
                status = "error"
                raise
            finally:
                duration_ms = (time.perf_counter() - began) * 1000
                cpu_ms = (time.thread_time() - cpu) * 1000  # this thread's: the sandbox runs in others
                with self._lock:
                    app, emf = self._app - app0, self._emf - emf0
                system += self._system(
                    self._end_lines(request_id, duration_ms, memory_mb, status, cold[0], app + emf)
                )
                cold[0] = False
                self.invocations.append(
                    {
                        "function": function,
                        "request_id": request_id,
                        "app_bytes": app,
                        "emf_bytes": emf,
                        "system_bytes": system,
                        "bytes": app + emf + system,
                        "cpu_ms": round(cpu_ms, 3),
                        "duration_ms": round(duration_ms, 3),
                    }
                )

        return invoke

    def summary(self, function: str | None = None) -> list[dict[str, Any]]:
        """The recorded invocations (of one function, when named), oldest first."""
        return [dict(i) for i in list(self.invocations) if function is None or i["function"] == function]

    # Lambda's own lines
    def _system(self, lines: list[str]) -> int:
        if not lines:
            return 0
        text = "".join(line + "\n" for line in lines)
        self._stream.write(text)  # not counted as the handler's: these are the platform's
        return len(text.encode("utf-8"))

    def _json_system(self) -> bool:
        return self.log_format == JSON_FORMAT

    def _start_line(self, request_id: str) -> list[str]:
        if not self._json_system():
            return [f"START RequestId: {request_id} Version: $LATEST"]
        if self.system_level == "WARN":
            return []
        return [_platform("platform.start", {"requestId": request_id, "version": "$LATEST"})]

    def _end_lines(
        self, request_id: str, duration_ms: float, memory_mb: int, status: str, cold: bool, produced: int
    ) -> list[str]:
        billed = max(1, int(-(-duration_ms // 1)))  # Lambda bills whole milliseconds, rounded up
        used = _max_memory_mb()
        if not self._json_system():
            report = (
                f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms"
                f"\tBilled Duration: {billed} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {used} MB\t"
            )
            if cold:
                report += "Init Duration: 150.00 ms\t"  # a stand-in: the local process was started long ago
            return [f"END RequestId: {request_id}", report]
        if self.system_level == "WARN":
            return []
        metrics: dict[str, Any] = {
            "durationMs": round(duration_ms, 3),
            "billedDurationMs": billed,
            "memorySizeMB": memory_mb,
            "maxMemoryUsedMB": used,
        }
        if cold:
            metrics["initDurationMs"] = 150.0
        done = {
            "requestId": request_id,
            "status": status,
            "spans": [
                {"name": "responseLatency", "start": _now(), "durationMs": round(duration_ms, 3)},
                {"name": "responseDuration", "start": _now(), "durationMs": 0.1},
            ],
            "metrics": {"durationMs": round(duration_ms, 3), "producedBytes": produced},
        }
        return [
            _platform("platform.runtimeDone", done),
            _platform("platform.report", {"requestId": request_id, "metrics": metrics, "status": status}),
        ]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _platform(kind: str, record: dict[str, Any]) -> str:
    return json.dumps({"time": _now(), "type": kind, "record": record}, separators=(",", ":"))


def _max_memory_mb() -> int:
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    except (ImportError, OSError):
        return 0
