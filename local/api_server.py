"""API Gateway (HTTP API, payload v2.0) or a Lambda function URL on 127.0.0.1, before the ingest handler.

template.yaml's FrontDoor picks one; here FRONT_DOOR=FunctionUrl (local.run) or `front_door=` does.
A function URL has no routes (every method and path reaches the function, which answers 404 itself
for anything but POST /events), a 6 MB payload limit and its own event details (`function_url_event`).

What a deployed stack does around the Lambda is emulated here so local mode and the e2e tests meet
the same behaviour: the v2.0 event shape (cookies moved out of the headers, lower-case header
names, `X-Forwarded-For` extended with the source IP), CORS as template.yaml's CorsConfiguration
(allowed origin echoed; others get no CORS headers, so the browser refuses), the 10 MB payload
limit, `{"message": "Not Found"}` for other routes and `{"message": "Internal Server Error"}` when
the handler raises. `GET /health`, the static `web/` folder under `/web/` and `GET /_local/logs` (what
each invocation wrote to its log stream, local.log_stream; `?function=ingest`) are local-only extras.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

Handler = Callable[[dict, Any], Any]

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # HTTP API's own limit; the ingest handler enforces 1 MB
FUNCTION_URL_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # a synchronous invocation's request payload limit
HTTP_API, FUNCTION_URL = "HttpApi", "FunctionUrl"  # template.yaml's FrontDoor values
FRONT_DOORS = (HTTP_API, FUNCTION_URL)
FUNCTION_URL_ID = "localurlid0123456789abcdefghijkl"  # the 32-character id in <id>.lambda-url.<region>.on.aws
ROUTE = ("POST", "/events")
GRAPH_ROUTE = re.compile(r"/[^/]+/[^/]+/events")  # POST /{version}/{pixel_id}/events, as template.yaml
CORS_METHODS = ("POST", "OPTIONS")
CORS_HEADERS = ("content-type", "x-api-key", "x-capi-signature", "x-capi-timestamp", "x-capi-consent")
CORS_MAX_AGE = 600
WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
# API Gateway passes these content types as text; anything else arrives base64-encoded.
_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-www-form-urlencoded",
)


@dataclass
class LambdaContext:
    """What Powertools and our handlers read from Lambda's context object."""

    function_name: str = "capi-relay-local"
    memory_limit_in_mb: int = 512
    timeout_s: float = 30.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/capi-relay-local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


def http_api_event(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    source_ip: str,
    request_id: str,
    host: str = "127.0.0.1",
) -> dict:
    """The event API Gateway (HTTP API, payload format 2.0) would hand the Lambda for this request."""
    split = urlsplit(target)
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        name = name.lower()
        if name == "cookie":  # v2.0: cookies leave the headers for their own list
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:
            merged[name] = f"{merged[name]},{value}" if name in merged else value
    # API Gateway appends the address it saw to whatever X-Forwarded-For the client claimed.
    merged["x-forwarded-for"] = (
        f"{merged['x-forwarded-for']}, {source_ip}" if merged.get("x-forwarded-for") else source_ip
    )
    merged.setdefault("x-forwarded-proto", "http")
    merged["x-amzn-trace-id"] = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    query: dict[str, str] = {}
    for key, value in parse_qsl(split.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": _route_key(method, split.path),
        "rawPath": split.path,
        "rawQueryString": split.query,
        "headers": merged,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": unquote(split.path),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": _route_key(method, split.path),
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        if _is_text(merged.get("content-type", "")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode("ascii"), True
    return event


def _route_key(method: str, path: str) -> str:
    if (method, path) == ROUTE:
        return f"{method} {path}"
    if method == "POST" and GRAPH_ROUTE.fullmatch(path):
        return "POST /{version}/{pixel_id}/events"
    return "$default"


def function_url_event(event: dict, region: str = "us-east-1") -> dict:
    """The same request as a Lambda function URL (auth type NONE) hands it over, from an HTTP API event.

    Both are payload 2.0; a function URL has no routes ("$default"), no account of the caller
    ("anonymous"), its own host name, and null pathParameters/stageVariables.
    """
    domain = f"{FUNCTION_URL_ID}.lambda-url.{region}.on.aws"
    context = {
        **event["requestContext"],
        "accountId": "anonymous",
        "apiId": FUNCTION_URL_ID,
        "domainName": domain,
        "domainPrefix": FUNCTION_URL_ID,
        "routeKey": "$default",
        "authentication": None,
    }
    headers = dict(event.get("headers") or {})
    if "host" in headers:
        headers["host"] = domain
    return {
        **event,
        "routeKey": "$default",
        "headers": headers,
        "requestContext": context,
        "pathParameters": None,
        "stageVariables": None,
    }


def _is_text(content_type: str) -> bool:
    ctype = content_type.split(";")[0].strip().lower()
    return not ctype or ctype.startswith(_TEXT_TYPES) or ctype.endswith("+json")


def lambda_response(result: Any) -> tuple[int, dict[str, str], list[str], bytes]:
    """Read a v2.0 handler result the way API Gateway does (a bare value means 200 + its JSON)."""
    if not isinstance(result, Mapping) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, [], json.dumps(result).encode()
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name).lower()] = ",".join(str(v) for v in values)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return int(result["statusCode"]), headers, [str(c) for c in result.get("cookies") or []], raw


class ApiServer:
    """The local API: serves until `stop()`; one handler call at a time, like one Lambda container."""

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 3000,
        *,
        allowed_origins: Iterable[str] = (),
        web_root: Path | None = WEB_ROOT,
        lock: threading.Lock | None = None,
        max_payload_bytes: int | None = None,
        front_door: str = HTTP_API,
        log_stream: Any = None,
    ) -> None:
        if front_door not in FRONT_DOORS:
            raise ValueError(f"front_door must be one of {FRONT_DOORS}, not {front_door!r}")
        self.front_door = front_door
        self.log_stream = log_stream  # local.log_stream.LogStream, for GET /_local/logs
        if max_payload_bytes is None:
            max_payload_bytes = (
                FUNCTION_URL_MAX_PAYLOAD_BYTES if front_door == FUNCTION_URL else MAX_PAYLOAD_BYTES
            )
        self.handler = handler
        self.allowed_origins = tuple(o.strip().rstrip("/") for o in allowed_origins if o.strip())
        self.web_root = web_root
        self.max_payload_bytes = max_payload_bytes
        self.lock = lock or threading.Lock()
        self._server = _Server((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.api = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes | bytearray):  # typeshed allows it; an AF_INET server's address is str
            host = host.decode()
        return f"http://{host}:{port}"

    def start(self) -> ApiServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="api-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def cors_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for this origin, or None (no CORS headers at all)."""
        if not origin:
            return None
        if "*" in self.allowed_origins:
            return "*"
        return origin if origin.rstrip("/") in self.allowed_origins else None

    def invoke(self, event: dict) -> tuple[int, dict[str, str], list[str], bytes]:
        """Run the handler as Lambda would; a crash becomes API Gateway's bare 500."""
        try:
            with self.lock:
                result = self.handler(event, LambdaContext())
            return lambda_response(result)
        except Exception:  # API Gateway hides the error from the caller; the developer sees it here
            traceback.print_exc(file=sys.stderr)
            return 500, {"content-type": "application/json"}, [], b'{"message":"Internal Server Error"}'


class _Server(ThreadingHTTPServer):
    api: ApiServer  # what its handlers serve


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # headers and body are two writes: with Nagle on, the body waits for the client's delayed ACK (~40 ms)
    disable_nagle_algorithm = True
    server_version = "capi-relay-local"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    @property
    def api(self) -> ApiServer:
        return self.server.api

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the handler logs each request itself (without PII); paths may carry fbclid and friends

    def do_OPTIONS(self) -> None:
        origin = self.headers.get("Origin")
        allowed = self.api.cors_origin(origin)
        method = (self.headers.get("Access-Control-Request-Method") or "").upper()
        self._drain()
        if allowed is None or method not in CORS_METHODS:
            self._reply(204, {}, b"")  # like API Gateway: no CORS headers, so the browser refuses
            return
        requested = [
            h.strip().lower()
            for h in (self.headers.get("Access-Control-Request-Headers") or "").split(",")
            if h.strip()
        ]
        headers = {
            "access-control-allow-origin": allowed,
            "access-control-allow-methods": ",".join(CORS_METHODS),
            "access-control-allow-headers": ",".join(h for h in requested if h in CORS_HEADERS),
            "access-control-max-age": str(CORS_MAX_AGE),
            "vary": "origin",
        }
        self._reply(204, headers, b"")

    def do_GET(self) -> None:
        self._drain()
        path = urlsplit(self.path).path
        if path == "/health":
            self._reply(200, {"content-type": "application/json"}, b'{"ok":true}')
        elif path == "/web" or path.startswith("/web/"):
            self._static(path[len("/web") :])
        elif path == "/_local/logs" and self.api.log_stream is not None:
            function = dict(parse_qsl(urlsplit(self.path).query)).get("function")
            body = json.dumps({"invocations": self.api.log_stream.summary(function)}).encode()
            self._reply(200, {"content-type": "application/json"}, body)
        else:
            self._not_found()

    def do_POST(self) -> None:
        split = urlsplit(self.path)
        try:
            body = self._read_body()
        except _TooLarge:
            self.close_connection = True  # said in the reply: the client must not reuse this connection
            self._reply(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            return
        except ValueError:
            self.close_connection = True
            self._reply(400, {"content-type": "application/json"}, b'{"message":"Bad Request"}')
            return
        function_url = self.api.front_door == FUNCTION_URL
        if _route_key(self.command, split.path) == "$default" and not function_url:
            self._not_found()
            return
        event = http_api_event(
            self.command,
            self.path,
            self.headers.items(),
            body,
            self.client_address[0],
            str(uuid.uuid4()),
            self.headers.get("Host", "127.0.0.1"),
        )
        if function_url:
            event = function_url_event(event)
        status, headers, cookies, raw = self.api.invoke(event)
        # API Gateway and function URLs: with CORS configured, the function's own CORS headers are replaced.
        headers = {k: v for k, v in headers.items() if not k.startswith("access-control-")}
        allowed = self.api.cors_origin(self.headers.get("Origin"))
        if allowed is not None:
            headers["access-control-allow-origin"] = allowed
            headers["vary"] = "origin"
        if function_url:
            headers["x-amzn-requestid"] = event["requestContext"]["requestId"]
        else:
            headers["apigw-requestid"] = event["requestContext"]["requestId"]
        self._reply(status, headers, raw, cookies)

    do_PUT = do_PATCH = do_DELETE = do_POST  # other methods: the same path, so 404

    # helpers
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > self.api.max_payload_bytes:
            self._discard(length)
            raise _TooLarge
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > self.api.max_payload_bytes:
                self._discard_chunks(size, total)
                raise _TooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _discard_chunks(self, size: int, total: int) -> None:
        """Read the rest of an oversized chunked body away (bounded), so the client gets our 413."""
        while size > 0 and total <= 4 * self.api.max_payload_bytes:
            self._discard(size)
            self.rfile.readline(8)
            size = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
            total += size
        if size == 0:
            while self.rfile.readline(1024).strip():  # trailers
                pass

    def _discard(self, length: int) -> None:
        """Read an oversized body away (bounded), so the client gets to read our 413."""
        remaining = min(length, 4 * self.api.max_payload_bytes)
        while remaining > 0:
            got = self.rfile.read(min(remaining, 1 << 16))
            if not got:
                break
            remaining -= len(got)

    def _drain(self) -> None:
        """Read and drop a body nobody asked for, so the keep-alive connection stays in step."""
        try:
            self._read_body()
        except (ValueError, _TooLarge):
            self.close_connection = True

    def _static(self, rel: str) -> None:
        root = self.api.web_root
        if root is None:
            self._not_found()
            return
        rel = unquote(rel).lstrip("/") or "example.html"
        path = (root / rel).resolve()
        if root.resolve() not in path.parents or not path.is_file():
            self._not_found()
            return
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype == "application/javascript":
            ctype += "; charset=utf-8"
        self._reply(200, {"content-type": ctype, "cache-control": "no-store"}, path.read_bytes())

    def _not_found(self) -> None:
        self._reply(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')

    def _reply(
        self, status: int, headers: Mapping[str, str], body: bytes, cookies: Iterable[str] = ()
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name != "content-length":
                self.send_header(name, value)
        for cookie in cookies:
            self.send_header("set-cookie", cookie)
        self.send_header("content-length", str(len(body)))
        if self.close_connection:
            # Without this the client keeps the connection in its pool, and its next request on it
            # meets a closed socket (RemoteDisconnected) whenever it is sent before our FIN arrives.
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _TooLarge(Exception):
    """The body is over API Gateway's payload limit."""
