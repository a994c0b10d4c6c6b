"""A small stand-in for Meta's Graph API `POST /{version}/{pixel_id}/events`, with faults on demand.

Tests and `make run` reach it over real HTTP, so the relay's Meta client, its error classification
and its retries are exercised exactly as against graph.facebook.com — without leaving 127.0.0.1.
It validates like Meta (one bad event fails the whole request), records what it accepted, shows
it on a page like Meta's Test Events tool, and fails on purpose when told to (`/_sandbox/faults`).

Errors follow Graph's shape; the checks themselves live in `local.graph_validation`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import hmac
import html
import itertools
import json
import random
import re
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local import test_events
from local.graph_validation import SUBCODES, GraphError, validate_events

MAX_BODY_BYTES = 10 * 1024 * 1024
PAGE_DIR = Path(__file__).resolve().parent / "test_events_page"
_PAGE_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/_sandbox/page.js": ("page.js", "text/javascript; charset=utf-8"),
    "/_sandbox/page.css": ("page.css", "text/css; charset=utf-8"),
}
# The page renders what strangers' events contain: nothing runs but its own script, even if a bug in it
# turned event data into markup.
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_KEEP_DELIVERIES = 20000
_REQUEST_OPTIONS = ("partner_agent", "namespace_id", "upload_tag", "upload_id", "upload_source")
_PATH = re.compile(r"/(v\d+\.\d+)/([^/]+)/events/?")
_FAULT_KINDS = ("5xx", "timeout", "rate_limit", "token", "reject", "slow")
_NUMBER_KEYS = ("rate", "delay_s")
_INTEGER_KEYS = ("count", "status", "code", "subcode", "seed")
_BOOLEAN_KEYS = ("accept", "transient")
_FAULT_KEYS = frozenset({"kind", "event_name", *_BOOLEAN_KEYS, *_NUMBER_KEYS, *_INTEGER_KEYS})
_RATE_LIMITS = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80000: "(#80000) There have been too many calls from this ad-account.",
    80001: "(#80001) There have been too many calls to this Page account.",
    80003: "(#80003) There have been too many calls to this ad-account.",
    80004: "(#80004) There have been too many calls to this ad-account.",
    80014: "(#80014) There have been too many calls for the batch uploads to this ad account.",
}


# --- faults ------------------------------------------------------------------------------------


@dataclass
class Fault:
    """One injected failure; `rate` draws from its own seeded RNG so a run can be repeated."""

    kind: str
    rate: float = 1.0
    count: int | None = None  # fire at most this many times (the first N matching calls when rate=1)
    event_name: str | None = None  # reject: only requests holding an event with this name
    status: int = 503  # 5xx: 500, 502 (an HTML body, like a proxy), 503, 504
    code: int = 4  # rate_limit: 4, 17, 32, 613, 80000, 80001, 80003, 80004, 80014
    transient: bool = True  # rate_limit: is_transient in the answer (Meta often sends false for 800xx)
    subcode: int = SUBCODES["invalid_parameter"]  # reject
    delay_s: float = 15.0  # timeout: how long to hold the request; slow: how long before answering
    accept: bool = False  # 5xx/timeout: record the events anyway (Meta got them, the caller cannot know)
    seed: int | None = None
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> Fault:
        """Build a fault from the JSON of POST /_sandbox/faults; ValueError names the bad key."""
        if not isinstance(spec, Mapping) or spec.get("kind") not in _FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(_FAULT_KINDS)}")
        unknown = sorted(set(spec) - _FAULT_KEYS)
        if unknown:
            raise ValueError(f"unknown key(s): {', '.join(unknown)}")
        fault = cls(kind=spec["kind"], **_typed_values(spec))
        fault.accept = bool(spec.get("accept", False))
        fault.transient = bool(spec.get("transient", True))
        if fault.kind == "5xx" and not 500 <= fault.status <= 599:
            raise ValueError("status must be 5xx")
        if fault.kind == "rate_limit" and fault.code not in _RATE_LIMITS:
            raise ValueError(f"code must be one of {sorted(_RATE_LIMITS)}")
        fault.rng = random.Random(fault.seed)
        return fault

    def applies(self, events: Iterable[Any]) -> bool:
        """Whether this call fails; consumes one draw of the RNG for every matching call."""
        if self.count is not None and self.fired >= self.count:
            return False
        if self.event_name is not None and not any(
            isinstance(e, dict) and e.get("event_name") == self.event_name for e in events
        ):
            return False
        if self.rate < 1.0 and self.rng.random() >= self.rate:
            return False
        self.fired += 1
        return True

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "rate": self.rate,
            "count": self.count,
            "event_name": self.event_name,
            "status": self.status,
            "code": self.code,
            "subcode": self.subcode,
            "delay_s": self.delay_s,
            "accept": self.accept,
            "seed": self.seed,
            "transient": self.transient,
            "fired": self.fired,
        }

    def error(self) -> GraphError:
        if self.kind == "5xx":
            if self.status == 500:
                return GraphError(500, "An unknown error has occurred.", code=1, transient=True)
            return GraphError(self.status, "Service temporarily unavailable", code=2, transient=True)
        if self.kind == "rate_limit":
            return GraphError(400, _RATE_LIMITS[self.code], code=self.code, transient=self.transient)
        if self.kind == "token":
            return GraphError(
                400, "Error validating access token: Session has expired.", code=190, subcode=463
            )
        return GraphError(
            400,
            "Invalid parameter",
            code=100,
            subcode=self.subcode,
            title="Event Rejected",
            user_msg="The sandbox was told to reject this request.",
        )


def _typed_values(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The fault's numbers, integers and event name, each checked for its JSON type."""
    values: dict[str, Any] = {}
    for key in _NUMBER_KEYS:
        if key in spec:
            if isinstance(spec[key], bool) or not isinstance(spec[key], int | float) or spec[key] < 0:
                raise ValueError(f"{key} must be a non-negative number")
            values[key] = float(spec[key])
    for key in _INTEGER_KEYS:
        if spec.get(key) is not None:
            if isinstance(spec[key], bool) or not isinstance(spec[key], int):
                raise ValueError(f"{key} must be an integer")
            values[key] = spec[key]
    for key in _BOOLEAN_KEYS:
        if key in spec and not isinstance(spec[key], bool):
            raise ValueError(f"{key} must be true or false")
    if spec.get("event_name") is not None:
        if not isinstance(spec["event_name"], str):
            raise ValueError("event_name must be a string")
        values["event_name"] = spec["event_name"]
    return values


# --- the server ----------------------------------------------------------------------------------


class GraphSandbox:
    """The Graph API stand-in; thread-safe; `start()` serves on a background thread until `stop()`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tokens: Mapping[str, str] | None = None,
        token: str | None = None,
        pixels: Iterable[str] = (),
        app_secret: str | None = None,
        future_skew_s: float = 300,
        verbose: bool = False,
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = dict(tokens or {})
        self._default_token = token
        self._initial_tokens = (dict(self._tokens), token)
        self._pixels = set(pixels) | set(self._tokens)
        self._expired: set[str] = set()
        self._app_secret = app_secret
        self._future_skew_s = future_skew_s
        self._events: list[dict] = []
        self._requests: list[dict] = []
        self._faults: list[Fault] = []
        # for the Test Events page: every delivery of every event (failed ones too) and Pixel reports
        self._deliveries: list[dict] = []
        self._pixel_reports: list[dict] = []
        self._attempts: dict[tuple, int] = {}
        self._seq = itertools.count(1)
        self._origins = {o.rstrip("/") for o in allowed_origins}
        self._release = threading.Event()  # wakes requests held by a timeout fault
        self._thread: threading.Thread | None = None
        self.verbose = verbose
        self._server = _Server((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.sandbox = self

    # lifecycle
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes | bytearray):  # typeshed allows it; an AF_INET server's address is str
            host = host.decode()
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> GraphSandbox:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="graph-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> GraphSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # state, for tests in the same process (the HTTP endpoints do the same)
    def events(self) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self._events]

    def requests(self) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._requests]

    def clear_events(self) -> None:
        with self._lock:
            self._events.clear()
            self._requests.clear()
            self._deliveries.clear()
            self._pixel_reports.clear()
            self._attempts.clear()

    def allow_origins(self, origins: Iterable[str]) -> None:
        """Pages on these origins may report their Pixel events (POST /_sandbox/pixel)."""
        with self._lock:
            self._origins.update(o.strip().rstrip("/") for o in origins if o.strip())

    def origin_allowed(self, origin: str | None) -> bool:
        """No Origin header (curl, a script) or a listed one; the sandbox's own page too."""
        if origin is None:
            return True
        with self._lock:
            return origin in self._origins or origin == self.url

    def add_pixel_event(self, body: Any) -> dict:
        """Record what a page's Pixel sent, so the page can pair it with the relay's event."""
        report = test_events.parse_pixel_report(body)
        with self._lock:
            report.update(seq=next(self._seq), at=time.time())
            self._pixel_reports.append(report)
            del self._pixel_reports[:-_KEEP_DELIVERIES]
        return {"ok": True, "id": f"#{report['seq']}"}

    def test_events(self, filters: Mapping[str, str]) -> dict:
        """The Test Events page's JSON (local.test_events)."""
        with self._lock:
            deliveries, reports = list(self._deliveries), list(self._pixel_reports)
        return test_events.timeline(deliveries, reports, filters)

    def _note(
        self,
        pixel_id: str,
        params: Mapping[str, Any],
        events: Iterable[Any],
        meta: dict,
        outcome: str,
        error: dict | None = None,
    ) -> list[int]:
        """Count one delivery attempt of each event; `meta` holds now, fbtrace_id and version."""
        code = params.get("test_event_code") if isinstance(params.get("test_event_code"), str) else None
        attempts = []
        with self._lock:
            if len(self._attempts) > 10 * _KEEP_DELIVERIES:
                self._attempts.clear()
            for event in events:
                if not isinstance(event, dict):
                    continue
                key = (pixel_id, str(event.get("event_name")), str(event.get("event_id")))
                attempt = self._attempts[key] = self._attempts.get(key, 0) + 1 if event.get("event_id") else 1
                attempts.append(attempt)
                self._deliveries.append(
                    {
                        "seq": next(self._seq),
                        "at": meta["now"],
                        "pixel_id": pixel_id,
                        "test_event_code": code,
                        "api_version": meta["version"],
                        "fbtrace_id": meta["fbtrace_id"],
                        "attempt": attempt,
                        "outcome": outcome,
                        "error": error,
                        "event": event,
                    }
                )
            del self._deliveries[:-_KEEP_DELIVERIES]
        return attempts

    def add_fault(self, spec: Mapping[str, Any]) -> dict:
        fault = Fault.parse(spec)
        with self._lock:
            self._faults.append(fault)
        return fault.describe()

    def faults(self) -> list[dict]:
        with self._lock:
            return [f.describe() for f in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            old, self._release = self._release, threading.Event()
        old.set()  # requests still held by a timeout fault give up now

    def set_token(self, token: str, pixel_id: str | None = None) -> None:
        """Rotate the valid token; the previous one now fails with 190/463 (expired)."""
        with self._lock:
            if pixel_id is None:
                self._expired.update(t for t in [self._default_token, *self._tokens.values()] if t)
                self._default_token = token
                self._tokens = dict.fromkeys(self._tokens, token)
            else:
                old = self._tokens.get(pixel_id, self._default_token)
                if old:
                    self._expired.add(old)
                self._tokens[pixel_id] = token
                self._pixels.add(pixel_id)
            self._expired.discard(token)

    def reset(self) -> None:
        """Back to a clean slate between tests: no events, no faults, the tokens it started with."""
        self.clear_faults()
        self.clear_events()
        with self._lock:
            tokens, self._default_token = self._initial_tokens
            self._tokens = dict(tokens)
            self._expired.clear()

    @property
    def token(self) -> str | None:
        """The token valid for pixels without one of their own."""
        with self._lock:
            return self._default_token

    @property
    def pixel_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._pixels)

    # the Graph endpoint
    def handle_events(
        self, version: str, pixel_id: str, params: dict[str, Any], token_in_query: bool = False
    ) -> tuple[int, dict]:
        """Answer one `POST /{version}/{pixel_id}/events`; returns (HTTP status, JSON body)."""
        fbtrace_id = _trace_id()
        now = time.time()
        data = params.get("data")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                data = None
        events = data if isinstance(data, list) else []
        record = {
            "at": now,
            "version": version,
            "pixel_id": pixel_id,
            "events": len(events),
            "token_in_query": token_in_query,
            "fbtrace_id": fbtrace_id,
            "fault": None,
            # Meta's request-level parameters as they arrived (partner_agent, upload_tag, …)
            "options": {k: params[k] for k in _REQUEST_OPTIONS if k in params},
        }
        meta = {"now": now, "fbtrace_id": fbtrace_id, "version": version}
        fault: Fault | None = None
        try:
            fault = self._check(pixel_id, params, events)
            if fault is not None:
                record["fault"] = fault.kind
                if fault.kind == "timeout":
                    self._hold(fault)
                    if fault.accept:
                        self._accept(pixel_id, params, self._valid(data, now), now, fbtrace_id, version)
                    else:
                        lost = {
                            "http_status": None,
                            "message": "No answer: the request timed out (timeout fault)",
                        }
                        self._note(pixel_id, params, events, meta, "failed", lost)
                    return 0, {}  # the caller has gone; the handler closes the connection unanswered
                if fault.accept and fault.kind == "5xx":
                    self._accept(pixel_id, params, self._valid(data, now), now, fbtrace_id, version)
                raise fault.error()
            accepted = self._valid(data, now)
            reject = self._fault_for(("reject",), accepted)
            if reject is not None:
                record["fault"] = "reject"
                raise reject.error()
            self._accept(pixel_id, params, accepted, now, fbtrace_id, version)
            record.update(status=200)
            return 200, {"events_received": len(accepted), "messages": [], "fbtrace_id": fbtrace_id}
        except GraphError as error:
            error.body["fbtrace_id"] = fbtrace_id
            record.update(
                status=error.status, code=error.body["code"], subcode=error.body.get("error_subcode")
            )
            if fault is None or not fault.accept:  # accepted anyway: already counted as received
                outcome = "failed" if error.body.get("is_transient") or error.status >= 500 else "refused"
                self._note(
                    pixel_id, params, events, meta, outcome, {"http_status": error.status, **error.body}
                )
            return error.status, {"error": error.body}
        finally:
            with self._lock:
                self._requests.append(record)
                del self._requests[:-10000]

    def _valid(self, data: Any, now: float) -> list[dict]:
        return validate_events(data, now, future_skew_s=self._future_skew_s)

    def _check(self, pixel_id: str, params: dict[str, Any], events: list) -> Fault | None:
        """Unknown pixel, transport faults, then the token — in the order Meta would fail them."""
        with self._lock:
            known = pixel_id in self._pixels or (not self._pixels and bool(pixel_id.isdigit()))
        if not known:
            raise GraphError(
                400,
                f"Unsupported post request. Object with ID '{pixel_id}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation.",
                code=100,
                subcode=33,
                kind="GraphMethodException",
            )
        slow = self._fault_for(("slow",), events)
        if slow is not None:
            self._hold(slow)  # then answers as usual: a Graph API that is slow, not down
        fault = self._fault_for(("5xx", "timeout", "rate_limit", "token"), events)
        if fault is not None:
            return fault
        token = params.get("access_token")
        if not isinstance(token, str) or not token:
            raise GraphError(400, "An access token is required to request this resource.", code=104)
        with self._lock:
            expected = self._tokens.get(pixel_id, self._default_token)
            expired = token in self._expired
        if expected is not None and not hmac.compare_digest(token, expected):
            if expired:
                raise GraphError(
                    400, "Error validating access token: Session has expired.", code=190, subcode=463
                )
            raise GraphError(400, "Invalid OAuth access token - Cannot parse access token", code=190)
        if self._app_secret is not None:
            proof = hmac.new(self._app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            given = params.get("appsecret_proof")
            if not isinstance(given, str) or not hmac.compare_digest(given, proof):
                raise GraphError(
                    400,
                    "Invalid appsecret_proof provided in the API argument",
                    code=100,
                    kind="GraphMethodException",
                )
        return None

    def _fault_for(self, kinds: tuple[str, ...], events: list) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.applies(events):
                    return fault
        return None

    def _hold(self, fault: Fault) -> None:
        with self._lock:
            release = self._release
        release.wait(fault.delay_s)  # set by stop() or clear_faults(): nothing sleeps past the test

    def _accept(
        self,
        pixel_id: str,
        params: Mapping[str, Any],
        events: list[dict],
        now: float,
        fbtrace_id: str,
        version: str,
    ) -> None:
        code = params.get("test_event_code") if isinstance(params.get("test_event_code"), str) else None
        meta = {"now": now, "fbtrace_id": fbtrace_id, "version": version}
        attempts = self._note(pixel_id, params, events, meta, "received")
        rows = [
            {
                "pixel_id": pixel_id,
                "test_event_code": code,
                "received_at": now,
                "api_version": version,
                "fbtrace_id": fbtrace_id,
                "attempt": attempt,
                "event": event,
            }
            for event, attempt in zip(events, attempts, strict=True)
        ]
        with self._lock:
            self._events.extend(rows)
            del self._events[:-100000]


def _trace_id() -> str:
    return "A" + secrets.token_urlsafe(16)[:22]


class _Server(ThreadingHTTPServer):
    sandbox: GraphSandbox  # what its handlers serve


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, so a pooled client reuses its connection as it would with Meta."""

    server: _Server
    protocol_version = "HTTP/1.1"
    # headers and body are two writes: with Nagle on, the body waits for the client's delayed ACK (~40 ms)
    disable_nagle_algorithm = True
    server_version = "graph-sandbox"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    @property
    def sandbox(self) -> GraphSandbox:
        return self.server.sandbox

    def log_message(self, format: str, *args: Any) -> None:
        # Never the query string (a careless client may put the token there) and never a body.
        if self.sandbox.verbose:
            sys.stderr.write(f"graph-sandbox {self.command} {urlsplit(self.path).path} {args[1:2]}\n")

    # routing
    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in _PAGE_FILES:
            name, ctype = _PAGE_FILES[path]
            text = (PAGE_DIR / name).read_text(encoding="utf-8")
            self._send(
                200, text, ctype, {"Content-Security-Policy": _PAGE_CSP, "X-Content-Type-Options": "nosniff"}
            )
        elif path == "/_sandbox/test-events":
            filters = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            self._json(200, self.sandbox.test_events(filters))
        elif path == "/_sandbox/events":
            self._json(200, self.sandbox.events())
        elif path == "/_sandbox/requests":
            self._json(200, self.sandbox.requests())
        elif path == "/_sandbox/faults":
            self._json(200, self.sandbox.faults())
        elif path == "/health":
            self._json(200, {"ok": True})
        else:
            self._graph_404(path)

    def do_DELETE(self) -> None:
        path = urlsplit(self.path).path
        if path == "/_sandbox/events":
            self.sandbox.clear_events()
            self._json(200, {"ok": True})
        elif path == "/_sandbox/faults":
            self.sandbox.clear_faults()
            self._json(200, {"ok": True})
        else:
            self._graph_404(path)

    def do_POST(self) -> None:
        split = urlsplit(self.path)
        try:
            body = self._body()
        except ValueError as error:
            self._json(
                400,
                {
                    "error": {
                        "message": str(error),
                        "type": "OAuthException",
                        "code": 100,
                        "fbtrace_id": _trace_id(),
                    }
                },
            )
            return
        if split.path == "/_sandbox/pixel":
            self._pixel_post(body)
            return
        if split.path.startswith("/_sandbox/"):
            self._sandbox_post(split.path, body)
            return
        match = _PATH.fullmatch(split.path)
        if not match:
            self._graph_404(split.path)
            return
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            params = {**query, **self._params(body)}
        except ValueError:
            self._json(
                400,
                {
                    "error": {
                        "message": "(#100) The request body could not be parsed",
                        "type": "OAuthException",
                        "code": 100,
                        "fbtrace_id": _trace_id(),
                    }
                },
            )
            return
        status, payload = self.sandbox.handle_events(match[1], match[2], params, "access_token" in query)
        if status == 0:
            self.close_connection = True
            return
        if status == 502:
            self._send(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            return
        self._json(
            status,
            payload,
            {"x-fb-trace-id": payload.get("fbtrace_id") or payload.get("error", {}).get("fbtrace_id", "")},
        )

    def do_OPTIONS(self) -> None:
        """The CORS preflight of a page that reports its Pixel events as application/json."""
        origin = self.headers.get("Origin")
        if urlsplit(self.path).path != "/_sandbox/pixel" or not self.sandbox.origin_allowed(origin):
            self._send(403, "", "text/plain")
            return
        self._send(204, "", "text/plain", self._cors(origin))

    # helpers
    def _cors(self, origin: str | None) -> dict[str, str]:
        if origin is None:
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "content-type",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        }

    def _pixel_post(self, body: bytes) -> None:
        """A page's Pixel event: only from allowed origins (checked here: a text/plain post is not
        preflighted, so CORS alone would not stop it), small, and shown as text."""
        origin = self.headers.get("Origin")
        if not self.sandbox.origin_allowed(origin):
            self._json(403, {"error": f"origin not allowed: {(origin or '')[:100]}"})
            return
        try:
            if len(body) > test_events.MAX_PIXEL_REPORT_BYTES:
                raise ValueError("body too large")
            answer = self.sandbox.add_pixel_event(json.loads(body or b"null"))
        except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            self._json(400, {"error": str(error)[:200]}, self._cors(origin))
            return
        self._json(200, answer, self._cors(origin))

    def _sandbox_post(self, path: str, body: bytes) -> None:
        try:
            spec = json.loads(body or b"{}")
            if path == "/_sandbox/faults":
                self._json(200, self.sandbox.add_fault(spec))
            elif path == "/_sandbox/token":
                if not isinstance(spec, dict) or not isinstance(spec.get("token"), str) or not spec["token"]:
                    raise ValueError("token must be a non-empty string")
                pixel_id = spec.get("pixel_id")
                self.sandbox.set_token(spec["token"], str(pixel_id) if pixel_id is not None else None)
                self._json(200, {"ok": True})
            elif path == "/_sandbox/reset":
                self.sandbox.reset()
                self._json(200, {"ok": True})
            else:
                self._graph_404(path)
        except ValueError as error:
            self._json(400, {"error": str(error)})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError("(#100) Request body too large")
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError):
                raise ValueError("(#100) The gzip body could not be read") from None
        return body

    def _params(self, body: bytes) -> dict[str, Any]:
        """JSON body, or form-encoded like Meta's SDKs send (`data=<JSON string>&access_token=...`)."""
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not body:
            return {}
        if ctype == "application/json" or (not ctype and body.lstrip()[:1] == b"{"):
            params = json.loads(body)
            if not isinstance(params, dict):
                raise ValueError("body is not an object")
            return params
        return {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), strict_parsing=False).items()}

    def _graph_404(self, path: str) -> None:
        self._json(
            404,
            {
                "error": {
                    "message": "Unknown path components: " + html.escape(path[:100]),
                    "type": "OAuthException",
                    "code": 2500,
                    "fbtrace_id": _trace_id(),
                }
            },
        )

    def _json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload), "application/json; charset=UTF-8", headers)

    def _send(self, status: int, text: str, ctype: str, headers: Mapping[str, str] | None = None) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            if value:
                self.send_header(name, value)
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the caller gave up on a slow answer, as a client may


# --- python -m local.graph_sandbox ---------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Serve until Ctrl-C / SIGTERM."""
    parser = argparse.ArgumentParser(description="Graph API sandbox for capi-relay")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--token", default="local-dev-token", help="the access token it accepts")
    parser.add_argument("--pixel", action="append", default=[], help="a known pixel id (repeatable)")
    parser.add_argument("--app-secret", default=None, help="require appsecret_proof for this app secret")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--allow-origin", action="append", default=[], help="a page origin that may report Pixel events"
    )
    args = parser.parse_args(argv)
    sandbox = GraphSandbox(
        args.host,
        args.port,
        token=args.token,
        pixels=args.pixel,
        app_secret=args.app_secret,
        verbose=args.verbose,
        allowed_origins=args.allow_origin,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    sandbox.start()
    print(f"Graph sandbox on {sandbox.url} (Test Events page: {sandbox.url}/)", flush=True)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
