"""A slow Secrets Manager (issue 14, finding 7): short timeouts, one retry, and the last good value
served when the read fails — slow or fast.

Secrets Manager is the moto server behind a small HTTP proxy started by the fixture: it forwards
every call, or holds it (never answering in time) when told to. The handlers reach it through
AWS_ENDPOINT_URL_SECRETS_MANAGER, as any boto3 client would; nothing of ours is patched.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from relay_aws import token
from tests.conftest import META_TOKEN
from tests.integration.lambda_events import emitted_metrics, http_event


class SlowProxy:
    """Forwards HTTP to `target`; while `slow`, holds each call until released (the client gives up)."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.slow = False
        self.held = 0  # calls held while slow
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.slow:
                    proxy.held += 1
                    proxy.release.wait(30)  # bounded; the fixture releases it at the end
                    return
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                request = urllib.request.Request(proxy.target + self.path, body, headers, method="POST")
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        status, data, ctype = answer.status, answer.read(), answer.headers["Content-Type"]
                except urllib.error.HTTPError as error:
                    status, data, ctype = error.code, error.read(), error.headers["Content-Type"]
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_secrets(local_aws, monkeypatch) -> Iterator[SlowProxy]:
    """Secrets Manager behind the proxy, for the handlers loaded after this fixture."""
    proxy = SlowProxy(local_aws.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", proxy.url)
    yield proxy
    proxy.stop()


def test_slow_secret_store_serves_the_last_good_value_after_two_short_attempts(
    slow_secrets, handlers, graph_sandbox, capsys
):
    # Given a container that has read its secret once, through the proxy
    handlers.restart()
    assert handlers.ingest(http_event())[0] == 200
    # When Secrets Manager turns slow and the 5-minute cache has run out
    slow_secrets.slow = True
    token.expire_cache()
    capsys.readouterr()
    status, _ = handlers.ingest(http_event())
    # Then the client gave up after one retry (two held calls, not the SDK's default of four with
    # 60 s each), and the request was served with the last good token: the event reached Meta
    assert slow_secrets.held == 2
    assert status == 200 and len(graph_sandbox.events()) == 2
    assert "MetaErrors" not in emitted_metrics(capsys.readouterr().out)
    # And the next request, while the store is still slow, does not wait for it again
    assert handlers.ingest(http_event())[0] == 200 and slow_secrets.held == 2


def test_slow_secret_store_on_a_new_container_answers_503_naming_the_secret(
    slow_secrets, handlers, graph_sandbox, local_aws, capsys
):
    # Given a new container while Secrets Manager is slow (no good value read yet)
    slow_secrets.slow = True
    handlers.restart()
    capsys.readouterr()
    # When a request arrives
    status, body = handlers.ingest(http_event())
    # Then the caller is told the secret is the cause, it counts as a secret error, Meta is not called
    [error] = body["errors"]
    assert status == 503 and error["code"] == "secret_unavailable"
    assert local_aws.names["secret_id"] in error["message"]
    totals = emitted_metrics(capsys.readouterr().out)
    assert totals["SecretErrors"] == 1 and "MetaErrors" not in totals
    assert graph_sandbox.requests() == [] and META_TOKEN not in str(body)
