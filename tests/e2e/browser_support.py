"""Headless Debian Chromium driven by Playwright, plus the two tiny HTTP servers browser tests need.

The page under test is always served from its own origin (a `Site`), never from the relay's, so CORS
and the snippet's no-preflight choice are exercised for real. `Recorder` is a stand-in endpoint that
keeps every request it sees; tests of the snippet alone use it, tests of the relay use the real stack.
Test modules import the fixtures by their function names (`chromium_fixture`, `page_fixture`);
pytest knows them as `chromium` and `page`.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import local_stack

WEB = Path(__file__).resolve().parents[2] / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Collects what the page throws into itself: a snippet that breaks its host page fails the test.
ERROR_TRAP = """<script>
  window.pageErrors = [];
  window.addEventListener("error", function (e) { window.pageErrors.push(String(e.message)); });
  window.addEventListener("unhandledrejection", function (e) { window.pageErrors.push(String(e.reason)); });
</script>"""
# The Pixel's fbq, recording its calls (the real one would load from connect.facebook.net).
FBQ_STUB = (
    "<script>window.fbqCalls = [];"
    " window.fbq = function () { fbqCalls.push([].slice.call(arguments)); };</script>"
)


def init(endpoint: str, **options: Any) -> str:
    """The page's capiRelay.init call, as a script tag."""
    return f"<script>capiRelay.init({json.dumps({'endpoint': endpoint, **options})});</script>"


def requests_made_during(page: Any, script: str, marker: str) -> tuple[Any, list[str]]:
    """Run `script`, then fetch `marker` a task later; every URL the page requested until the marker.

    Chromium reports requests in the order the page makes them, so "nothing before the marker" proves
    the script sent nothing, without waiting an arbitrary time.
    """
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    result = page.evaluate(script)
    with page.expect_request(marker):
        page.evaluate(f"setTimeout(() => fetch('{marker}', {{mode: 'no-cors'}}), 0)")
    return result, seen[: seen.index(marker) + 1]


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium (never a downloaded one); missing → skip locally, fail loudly in CI."""
    path = shutil.which(CHROMIUM) or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    if path is None:
        message = (
            f"browser tests need Chromium at {CHROMIUM}: run `sudo make browser-deps` "
            "(apt-get install chromium) or set CHROMIUM=/path/to/chromium"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, timeout=30_000)


class _SharedBrowser:
    """One Playwright driver and one Chromium for every module that uses them, closed by the last one.

    Each test module imports the fixture, so pytest sees one session fixture per module; Playwright's
    sync API allows one driver per thread, so they share this one.
    """

    def __init__(self) -> None:
        self.users = 0
        self.driver: Any = None
        self.browser: Any = None

    def acquire(self) -> Any:
        if self.browser is None:
            from playwright.sync_api import sync_playwright

            self.driver = sync_playwright().start()
            try:
                self.browser = launch_chromium(self.driver)
            except BaseException:
                self.driver.stop()
                self.driver = None
                raise
        self.users += 1
        return self.browser

    def release(self) -> None:
        self.users -= 1
        if self.users == 0 and self.browser is not None:
            try:
                self.browser.close()
            finally:
                self.driver.stop()
                self.browser = self.driver = None


_shared = _SharedBrowser()


@pytest.fixture(name="chromium", scope="session")
def chromium_fixture() -> Iterator[Any]:
    """The browser; each test opens its own context (fresh cookies, no cache)."""
    browser = _shared.acquire()
    try:
        yield browser
    finally:
        _shared.release()


@pytest.fixture(name="page")
def page_fixture(chromium: Any) -> Iterator[Any]:
    """A fresh page in its own browser context: no cookies, cache or service workers from other tests."""
    context = chromium.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


# the e2e poller, with a browser's tighter bounds (pages answer in milliseconds)
wait_for = functools.partial(local_stack.wait_for, timeout=10.0, interval=0.05)


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 with an OS-chosen port, stopped by `stop()`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> _Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


class _SiteHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        site: Site = self.server.owner  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        if path in site.pages:
            body, ctype = site.pages[path].encode(), "text/html; charset=utf-8"
        elif path.startswith("/web/") and (WEB / path[5:]).is_file() and ".." not in path:
            body = (WEB / path[5:]).read_bytes()
            ctype = "text/javascript" if path.endswith(".js") else "text/html; charset=utf-8"
        else:
            body, ctype = b"not found", "text/plain"
            self.send_response(404)
        if ctype != "text/plain":
            self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


class Site(_Server):
    """The shop: serves web/ under /web/ and the pages a test registers, from its own origin."""

    def __init__(self) -> None:
        super().__init__(_SiteHandler)
        self.pages: dict[str, str] = {"/next.html": "<!doctype html><title>next</title><p>next page</p>"}

    def page(self, path: str, body: str, *, head: str = "") -> str:
        """Register an HTML page that loads the snippet (after the error trap); returns its URL."""
        self.pages[path] = (
            f"<!doctype html><html><head><meta charset='utf-8'>{ERROR_TRAP}"
            f"<script src='/web/capi-relay.js'></script>{head}</head>"
            f"<body>{body}</body></html>"
        )
        return self.origin + path


@dataclass
class Seen:
    """One request the recorder received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    json: Any = field(default=None)


class _RecorderHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "content-type")

    def do_OPTIONS(self) -> None:
        recorder: Recorder = self.server.owner  # type: ignore[attr-defined]
        recorder.seen.append(Seen("OPTIONS", self.path, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(204)
        self._cors()
        self.end_headers()

    def do_GET(self) -> None:  # markers ("the page got this far") and /hang (holds a connection)
        recorder: Recorder = self.server.owner  # type: ignore[attr-defined]
        recorder.seen.append(Seen("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path.startswith("/hang"):
            recorder.release.wait(timeout=15)
        self.send_response(204)
        self._cors()
        self.end_headers()

    def do_POST(self) -> None:
        recorder: Recorder = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        recorder.seen.append(Seen("POST", self.path, headers, body, parsed))
        status = recorder.statuses.pop(0) if recorder.statuses else 200
        payload = json.dumps({"events_received": len((parsed or {}).get("data", []))}).encode()
        self.send_response(status)
        self._cors()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class Recorder(_Server):
    """A stand-in relay endpoint: answers with CORS, remembers every request in order."""

    def __init__(self) -> None:
        super().__init__(_RecorderHandler)
        self.seen: list[Seen] = []
        self.statuses: list[int] = []  # answers to give next (default 200)
        self.release = threading.Event()  # lets GET /hang requests finish

    def stop(self) -> None:
        self.release.set()
        super().stop()

    @property
    def endpoint(self) -> str:
        return self.origin + "/events"

    def posts(self, path: str = "/events") -> list[Seen]:
        return [s for s in self.seen if s.method == "POST" and s.path == path]

    def events(self) -> list[dict]:
        """Every event the snippet posted, in arrival order."""
        return [event for s in self.posts() for event in (s.json or {}).get("data", [])]
