"""The API Gateway and SQS event-source emulation of local mode behaves like AWS around a handler.

A recording stub stands in for the handler here: these tests are about the emulation, the real
handlers are driven through it in test_local_stack.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from local.api_server import ApiServer
from local.retry_poller import failed_ids

ORIGIN = "https://shop.example"


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.crash = False

    def __call__(self, event: dict, context: object) -> dict:
        self.events.append(event)
        if self.crash:
            raise RuntimeError("secret-internal-detail")
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/json", "access-control-allow-origin": "*"},
            "body": json.dumps({"ok": True}),
        }


@pytest.fixture
def api() -> Iterator[tuple[ApiServer, Recorder]]:
    recorder = Recorder()
    server = ApiServer(recorder, port=0, allowed_origins=[ORIGIN]).start()
    try:
        yield server, recorder
    finally:
        server.stop()


def test_request_becomes_an_http_api_v2_event(api):
    server, recorder = api
    # Given a browser-like request with cookies, a claimed X-Forwarded-For and a repeated query key
    headers = {
        "Cookie": "_fbp=fb.1.1700000000000.1; _fbc=fb.1.1700000000000.abc",
        "X-Forwarded-For": "203.0.113.9",
        "User-Agent": "UA/1",
        "Origin": ORIGIN,
    }
    # When it is posted
    requests.post(server.url + "/events?a=1&a=2", json={"x": 1}, headers=headers, timeout=5)
    # Then the handler sees API Gateway's v2.0 shape
    [event] = recorder.events
    assert (event["version"], event["routeKey"], event["rawPath"], event["rawQueryString"]) == (
        "2.0",
        "POST /events",
        "/events",
        "a=1&a=2",
    )
    assert event["cookies"] == ["_fbp=fb.1.1700000000000.1", "_fbc=fb.1.1700000000000.abc"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["requestContext"]["http"] == {
        "method": "POST",
        "path": "/events",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "UA/1",
    }
    assert json.loads(event["body"]) == {"x": 1}
    assert event["isBase64Encoded"] is False


def test_binary_body_arrives_base64_encoded(api):
    server, recorder = api
    # Given a body that is not text
    # When it is posted as octet-stream
    requests.post(
        server.url + "/events",
        data=b"\xff\x00\xfe",
        timeout=5,
        headers={"Content-Type": "application/octet-stream"},
    )
    # Then API Gateway's base64 flag is set
    assert recorder.events[0]["isBase64Encoded"] is True
    assert recorder.events[0]["body"] == "/wD+"


def test_cors_header_only_for_allowed_origins_and_the_handlers_own_is_replaced(api):
    server, _ = api
    # Given one allowed and one other origin
    # When both post
    allowed = requests.post(server.url + "/events", json={}, headers={"Origin": ORIGIN}, timeout=5)
    other = requests.post(
        server.url + "/events", json={}, headers={"Origin": "https://evil.example"}, timeout=5
    )
    # Then the allowed origin is echoed; the other gets none, not even the handler's "*"
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in other.headers


def test_handler_crash_is_a_bare_500_without_details(api):
    server, recorder = api
    # Given a handler that raises
    recorder.crash = True
    # When a request arrives
    response = requests.post(server.url + "/events", json={}, timeout=5)
    # Then API Gateway's generic 500 comes back, nothing of the error
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/events"),
        ("POST", "/other"),
        ("GET", "/web/../local/run.py"),
        ("GET", "/web/%2e%2e/local/run.py"),
    ],
)
def test_other_routes_and_paths_outside_web_are_404(api, method, path):
    server, recorder = api
    # Given a route the API does not have, or a path escaping web/
    # When it is requested
    response = requests.request(method, server.url + path, timeout=5)
    # Then 404, and the handler never ran
    assert response.status_code == 404
    assert recorder.events == []


def test_web_folder_is_served(api):
    server, _ = api
    # When the example page is fetched
    response = requests.get(server.url + "/web/example.html", timeout=5)
    # Then it is served as HTML
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zz"}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ("not a dict", {"a", "b"}),
    ],
    ids=["none", "empty", "one", "unknown-id", "empty-id", "malformed"],
)
def test_partial_batch_response_is_read_like_lambda(result, failed):
    # Given a batch of two records and the handler's answer
    # When the event source mapping reads it
    # Then the failed records are kept; an answer Lambda cannot read fails the whole batch
    assert failed_ids(result, {"a", "b"}) == failed
