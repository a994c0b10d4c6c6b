"""What CloudWatch Logs bills per request, measured: the bytes an ingest invocation writes to its log.

Starts the local stack with the template's logging defaults (LogLevel INFO, LoggingConfig JSON with
SystemLogLevel WARN; `system_level`/`log_format` change them) and reads, from its GET /_local/logs,
what each invocation wrote (application lines, EMF documents, Lambda's own START/END/REPORT or
platform.* lines; local/log_stream.py) and the CPU the handler's thread used. One-event requests
come from the bench's allowed origin, 100-event ones from a backend with an API key, as in bench/e2e.py.
"""

from __future__ import annotations

import statistics
import uuid

import requests

from bench import e2e
from bench import events as bench_events


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def measure(
    source: list[dict],
    *,
    singles: int = 200,
    batches: int = 10,
    batch_size: int = 100,
    front_door: str = "HttpApi",
    system_level: str = "WARN",
    log_format: str = "JSON",
) -> dict:
    """Median bytes and handler CPU per one-event and per 100-event request, for one logging setup."""
    env = {
        "POWERTOOLS_LOG_LEVEL": "INFO",  # the template's LogLevel default: the bill a user gets
        "LOG_LEVEL": "INFO",
        "FRONT_DOOR": front_door,
        "SYSTEM_LOG_LEVEL": system_level,
        "LOG_FORMAT": log_format,
    }
    with e2e.local_stack(env=env) as info:
        url, logs = info["events_url"], info["logs_url"]
        bodies = e2e._single_bodies(source, singles + 5)
        with requests.Session() as session:
            for body in bodies[:5]:  # warm-up: the cold start's one-off lines are not per request
                session.post(url, data=body, headers=e2e._headers(), timeout=10)
            skip = len(session.get(logs, params={"function": "ingest"}, timeout=10).json()["invocations"])
            statuses = [
                session.post(url, data=b, headers=e2e._headers(), timeout=10).status_code for b in bodies[5:]
            ]
            for i in range(batches):
                start = (len(source) // 2 + i * batch_size) % len(source)
                chosen = [dict(e, event_id=str(uuid.uuid4())) for e in source[start : start + batch_size]]
                body = bench_events.request_body(chosen)
                statuses.append(
                    session.post(url, data=body, headers=e2e._batch_headers(), timeout=30).status_code
                )
            seen = session.get(logs, params={"function": "ingest"}, timeout=10).json()["invocations"][skip:]
    if not seen or any(status != 200 for status in statuses):
        raise RuntimeError(f"requests failed: {sorted(set(statuses))}")
    one, many = seen[:singles], seen[singles:]
    return {
        "setup": {"front_door": front_door, "log_format": log_format, "system_log_level": system_level},
        "log_bytes_per_request": _median([i["bytes"] for i in one]),
        "log_bytes_per_batch_request": _median([i["bytes"] for i in many]),
        "batch_size": batch_size,
        "parts_per_request": {
            part: _median([i[part] for i in one]) for part in ("app_bytes", "emf_bytes", "system_bytes")
        },
        "handler_cpu_ms": _median([i["cpu_ms"] for i in one]),
        "handler_cpu_ms_batch": _median([i["cpu_ms"] for i in many]),
        "requests": len(seen),
    }
