"""A Graph API stand-in on 127.0.0.1 that plays scripted replies and records every request.

The scripted server answers each POST with the next reply it was given (then: 200, all events
received), so Meta client tests can play any Graph answer without patching `requests`. For
Meta-like validation use the Graph sandbox (tests/conftest.py `graph_sandbox`).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict → JSON; bytes as is; None → Meta's success for the events received
    hold: bool = False  # never answer (until the test ends): a read timeout
    headers: dict[str, str] | None = None  # extra response headers (Set-Cookie, ...)


class ScriptedGraph:
    """A Graph API stand-in on 127.0.0.1 that plays scripted replies and records requests."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[dict] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        graph = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible
            disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                parts = urlsplit(self.path)
                with graph._lock:
                    graph.requests.append(
                        {
                            "path": parts.path,
                            "query": parse_qs(parts.query),
                            "headers": dict(self.headers),
                            "raw": raw,
                            "json": body,
                            "client_port": self.client_address[1],
                        }
                    )
                    reply = graph.replies.popleft() if graph.replies else Reply()
                if reply.hold:
                    graph.release.wait(10)  # bounded; reset() and stop() end it at once
                    return
                payload = reply.body
                if payload is None:
                    events = body.get("data", []) if isinstance(body, dict) else []
                    payload = {"events_received": len(events), "messages": [], "fbtrace_id": "trace-ok"}
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (reply.headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reply(
        self, status: int = 200, body: Any = None, hold: bool = False, headers: dict[str, str] | None = None
    ) -> None:
        self.replies.append(Reply(status, body, hold, headers))

    def error(self, code: int, status: int = 400, subcode: int | None = None, **extra: Any) -> None:
        """Queue a Graph error in Meta's shape."""
        error = {
            "message": "canary-7f3a@example.com is invalid",
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": f"trace-{code}",
            **extra,
        }
        if subcode is not None:
            error["error_subcode"] = subcode
        self.reply(status, {"error": error})

    def reset(self) -> None:
        """No replies queued, nothing recorded; a request still held is let go."""
        with self._lock:
            self.replies.clear()
            self.requests.clear()
        self.release.set()
        self.release = threading.Event()

    def start(self) -> ScriptedGraph:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()
