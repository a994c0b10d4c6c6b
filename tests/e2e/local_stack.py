"""`python -m local.run` started as a user starts it, for the e2e tests: a subprocess on free ports.

Its stdout and stderr go to a file, so tests can read the whole log (and search it for canaries)
without ever blocking on a pipe. `stop()` sends SIGINT like Ctrl-C and reports what was left.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import requests

from local import aws

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_for(check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.2, what: str = "it") -> T:
    """Poll until `check()` returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalStackProcess:
    """One `python -m local.run` with its own ports, token and pixel."""

    def __init__(self, **env: str) -> None:
        self.ports = {name: aws.free_port() for name in ("PORT", "AWS_SERVER_PORT", "SANDBOX_PORT")}
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "META_GRAPH_URL"},
            **{k: str(v) for k, v in self.ports.items()},
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers"), str(ROOT)])
        self._log = tempfile.NamedTemporaryFile(prefix="capi-relay-e2e-", suffix=".log", delete=False)  # noqa: SIM115
        self.log_path = Path(self._log.name)
        self.proc: subprocess.Popen | None = None
        self.info: dict[str, Any] = {}
        self._sessions: dict[str, requests.Session] = {}

    # lifecycle
    @classmethod
    @contextlib.contextmanager
    def running(cls, **env: str) -> Iterator[LocalStackProcess]:
        """Started for the `with` block, then stopped and its log removed (a session fixture's body)."""
        stack = cls(**env)
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()
            stack.remove_log()

    def start(self, timeout: float = 60.0) -> LocalStackProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local.run"],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            line = wait_for(self._ready_line, timeout=timeout, what="READY from local.run")
            self.info = json.loads(line[len("READY ") :])
            wait_for(lambda: self._health(), timeout=10, what="/health")
        except BaseException:
            self.stop()
            raise
        return self

    def _ready_line(self) -> str | None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"local.run exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
        return next((ln for ln in self.log().splitlines() if ln.startswith("READY ")), None)

    def _health(self) -> bool:
        try:
            return requests.get(f"{self.info['api']}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, timeout: float = 30.0, sig: int = signal.SIGINT) -> int | None:
        """Ctrl-C (or `sig`); then, only if that failed, SIGKILL as a last resort. Returns the exit code."""
        for session in self._sessions.values():
            session.close()
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                code = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        elif self.proc is not None:
            code = self.proc.returncode
        moto_pid = self.info.get("aws_pid")
        if moto_pid and alive(moto_pid):  # last resort only; the test that cares asserts it never happens
            with contextlib.suppress(ProcessLookupError):
                os.killpg(moto_pid, signal.SIGKILL)
        self._log.close()
        return code

    def leftovers(self) -> list[str]:
        """What is still running or listening after stop(): should be nothing."""
        found = [f"{name} {port} still listening" for name, port in self.ports.items() if listening(port)]
        moto_pid = self.info.get("aws_pid")
        if moto_pid and alive(moto_pid):
            found.append(f"moto pid {moto_pid} still alive")
        if self.proc is not None and self.proc.poll() is None:
            found.append("local.run still running")
        return found

    def remove_log(self) -> None:
        self.log_path.unlink(missing_ok=True)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    # HTTP helpers
    def session(self, name: str = "default") -> requests.Session:
        if name not in self._sessions:
            self._sessions[name] = requests.Session()
        return self._sessions[name]

    def post_events(
        self, payload: Any = None, *, data: bytes | None = None, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        if data is not None:
            return self.session().post(self.info["events_url"], data=data, **kwargs)
        return self.session().post(self.info["events_url"], json=payload, **kwargs)

    def sandbox(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session().request(method, self.info["sandbox"] + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def graph_events(self, test_event_code: str) -> list[dict]:
        return [e for e in self.sandbox("GET", "/_sandbox/events") if e["test_event_code"] == test_event_code]

    # AWS helpers
    def client(self, service: str) -> Any:
        return aws.client(service, self.info["aws_endpoint"])

    def queue_counts(self, queue: str) -> int:
        url = self.info["retry_queue_url" if queue == "retry" else "dlq_url"]
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(v) for v in attributes.values())

    def dead_letters(self) -> list[dict]:
        """Every DLQ message, read without deleting (nothing consumes the DLQ)."""
        sqs, found = self.client("sqs"), {}
        for _ in range(20):
            got = sqs.receive_message(
                QueueUrl=self.info["dlq_url"], MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0
            ).get("Messages", [])
            new = [m for m in got if m["MessageId"] not in found]
            if not new:
                break
            found.update({m["MessageId"]: m for m in new})
        return list(found.values())

    def reset(self, token: str) -> None:
        """Between tests: sandbox clean, queues empty, the secret back to `token`."""
        self.sandbox("POST", "/_sandbox/reset")
        aws.purge(self.info["aws_endpoint"], self.info["retry_queue_url"], self.info["dlq_url"])
        aws.put_secret(self.info["aws_endpoint"], self.info["secret_id"], aws.secret_value(token))
