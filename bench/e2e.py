"""End to end: events per second and POST /events latency through the local stack (HTTP in -> Graph sandbox).

Starts `python -m local.run` as a child process on free loopback ports (it brings its own AWS API server
and Graph sandbox), drives it with a bounded number of requests from a few keep-alive clients, and stops
it (Ctrl-C, then kill) whatever happens. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import requests

from bench import events as bench_events

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ORIGIN = "https://shop.example.com"
# a backend's batches carry an API key (closed by default, a browser's Origin admits 20 events at most)
API_KEY = "bench-api-key-0123456789"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def local_stack(startup_timeout: float = 90.0, env: dict[str, str] | None = None) -> Iterator[dict]:
    """The local relay as a subprocess; yields its READY info (URLs); always stopped on exit.

    `env` overrides the stack's settings (bench/log_bytes.py: the template's log level and format)."""
    overrides = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("META_", "AWS_ENDPOINT"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "layers"), str(ROOT)]),
        PORT=str(free_port()),
        AWS_SERVER_PORT="0",  # 0: local.run picks free ports
        SANDBOX_PORT="0",
        META_PIXEL_ID=bench_events.PIXEL_ID,
        META_ACCESS_TOKEN="bench-token",
        RETRY_BASE_DELAY_S="1",
        ALLOWED_ORIGINS=ORIGIN,
        RELAY_API_KEYS=API_KEY,
        # the secret kept 5 minutes, as in Lambda (settings.secret_max_age_s); local mode's own default,
        # 0 (a key put into the local secret applies at once), would read it on every request
        SECRET_MAX_AGE_S="300",
        ALLOWED_URL_DOMAINS="shop.example.com",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="WARNING",  # a bench measures the relay, not the terminal
    )
    env.update(overrides)
    log_path = ROOT / "build" / "bench-local-run.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "local.run"],
            cwd=str(ROOT),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: we can stop it and whatever it started
        )
        try:
            yield _wait_until_ready(proc, log_path, startup_timeout)
        finally:
            _stop(proc)


def _wait_until_ready(proc: subprocess.Popen, log_path: Path, timeout: float) -> dict:
    """local.run prints `READY {json}` once every part listens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("READY "):
                return json.loads(line[len("READY ") :])
        if proc.poll() is not None:
            raise RuntimeError(f"local.run exited with {proc.returncode}; see {log_path.relative_to(ROOT)}")
        time.sleep(0.2)
    raise RuntimeError(f"local.run was not ready within {timeout:.0f} s; see {log_path.relative_to(ROOT)}")


def _stop(proc: subprocess.Popen) -> None:
    """Ctrl-C first (local.run cleans up its children), then the whole process group if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 15), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # a grandchild that ignored SIGINT
        os.killpg(proc.pid, signal.SIGKILL)


def _headers() -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Origin": ORIGIN,
        "Referer": f"{ORIGIN}/checkout",
        "User-Agent": "capi-relay-bench/1.0",
    }


def _batch_headers() -> dict[str, str]:
    """A backend's request: an API key, no Origin (relay_side.py sends its batches the same way)."""
    return {"Content-Type": "application/json", "X-Api-Key": API_KEY, "User-Agent": "capi-relay-bench/1.0"}


def drive(
    url: str, bodies: list[bytes], *, clients: int, time_limit: float, headers: dict | None = None
) -> dict:
    """POST every body once (or until `time_limit`), `clients` keep-alive connections in parallel."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    queue = iter(enumerate(bodies))
    deadline = time.monotonic() + time_limit

    def worker() -> None:
        with requests.Session() as session:
            while time.monotonic() < deadline:
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                start = time.perf_counter_ns()
                try:
                    response = session.post(url, data=item[1], headers=headers or _headers(), timeout=10)
                    status = response.status_code
                except requests.RequestException as exc:
                    status = type(exc).__name__
                elapsed_ms = (time.perf_counter_ns() - start) / 1e6
                with lock:
                    latencies.append(elapsed_ms)
                    statuses[status] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=time_limit + 15)
    wall = time.perf_counter() - began
    return {"latencies_ms": latencies, "statuses": dict(statuses), "wall_s": wall}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _summary(run: dict, events_per_body: int) -> dict:
    ok = sum(n for status, n in run["statuses"].items() if status in (200, 202))
    return {
        "requests": len(run["latencies_ms"]),
        "statuses": {str(k): v for k, v in run["statuses"].items()},
        "events_per_s": ok * events_per_body / run["wall_s"] if run["wall_s"] else None,
        "p50_ms": _percentile(run["latencies_ms"], 50),
        "p99_ms": _percentile(run["latencies_ms"], 99),
        "mean_ms": statistics.fmean(run["latencies_ms"]) if run["latencies_ms"] else None,
        "wall_s": run["wall_s"],
    }


def _single_bodies(source: list[dict], count: int) -> list[bytes]:
    """One event per request, as the browser snippet sends; a fresh event_id each (no dedup effects).

    Without a client_ip_address, which the snippet never sends (web/capi-relay.js): the relay takes
    the connection's, and ignores (with a warning) one a browser claims.
    """
    bodies = []
    for i in range(count):
        event = dict(source[i % len(source)], event_id=str(uuid.uuid4()))
        event["user_data"] = {k: v for k, v in event["user_data"].items() if k != "client_ip_address"}
        bodies.append(bench_events.request_body([event]))
    return bodies


def _graph_bodies(source: list[dict], count: int, size: int) -> list[bytes]:
    """Ready Graph requests (hashed, as the relay sends them) to time the sandbox on its own."""
    from bench.relay_side import RelayPipeline

    pipeline, now = RelayPipeline(), time.time()
    return [
        pipeline.prepare(bench_events.request_body(source[i * size : (i + 1) * size]), now)
        for i in range(count)
    ]


def measure(
    source: list[dict],
    *,
    singles: int = 600,
    batches: int = 20,
    batch_size: int = 100,
    clients: int = 4,
    time_limit: float = 45.0,
) -> dict:
    """Against one local stack: latency (one client), throughput (several), and 100-event batches.

    The Graph sandbox is also timed on its own with the same (ready) events, so that the relay's own
    share of a request - what Lambda would bill besides the wait for Meta - can be told apart.
    """
    with local_stack() as info:
        url = info["events_url"]
        graph = f"{info['graph_url']}/v24.0/{info['pixel_id']}/events"
        graph_headers = {"Content-Type": "application/json"}
        warm = drive(url, _single_bodies(source, 20), clients=1, time_limit=30)
        if not any(status in (200, 202) for status in warm["statuses"]):
            raise RuntimeError(f"warm-up requests failed: {warm['statuses']}")
        latency = drive(url, _single_bodies(source, singles // 2), clients=1, time_limit=time_limit)
        throughput = drive(url, _single_bodies(source, singles), clients=clients, time_limit=time_limit)
        batch_bodies = []
        for i in range(batches):
            start = (len(source) // 3 + i * batch_size) % len(source)  # people the single runs did not use
            chosen = source[start : start + batch_size]
            batch_bodies.append(
                bench_events.request_body([dict(e, event_id=str(uuid.uuid4())) for e in chosen])
            )
        batched = drive(url, batch_bodies, clients=1, time_limit=time_limit, headers=_batch_headers())
        graph_single = drive(
            graph, _graph_bodies(source, 50, 1), clients=1, time_limit=time_limit, headers=graph_headers
        )
        graph_batched = drive(
            graph,
            _graph_bodies(source, batches, batch_size),
            clients=1,
            time_limit=time_limit,
            headers=graph_headers,
        )
    latency_summary = _summary(latency, 1)
    throughput_summary = _summary(throughput, 1)
    batched_summary = _summary(batched, batch_size)
    sandbox_single, sandbox_batched = _summary(graph_single, 1), _summary(graph_batched, batch_size)
    return {
        "events_per_s": throughput_summary["events_per_s"],
        "p50_ms": latency_summary["p50_ms"],
        "p99_ms": latency_summary["p99_ms"],
        "relay_own_p50_ms": _minus(latency_summary["p50_ms"], sandbox_single["p50_ms"]),
        "latency": latency_summary,
        "throughput": {**throughput_summary, "clients": clients},
        "batched": {
            **batched_summary,
            "batch_size": batch_size,
            "relay_own_p50_ms": _minus(batched_summary["p50_ms"], sandbox_batched["p50_ms"]),
        },
        "sandbox_alone": {"single": sandbox_single, "batched": sandbox_batched},
    }


def _minus(total: float | None, part: float | None) -> float | None:
    return None if total is None or part is None else max(0.0, total - part)
