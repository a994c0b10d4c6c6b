"""The local API's payload limit: an oversized body gets API Gateway's 413, and the client can read it.

The 413 used to race: the emulator answered and closed the connection without saying so, and a
keep-alive client that sent its next request before the close arrived met RemoteDisconnected. Now
the body is read away (up to a bound) before the answer, and the answer says `Connection: close`.
A recorder stands in for the handler: these tests are about what happens before any handler runs.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from local.api_server import ApiServer

LIMIT = 4096


class Recorder:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, event: dict, context: object) -> dict:
        self.calls += 1
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"ok":true}'}


@pytest.fixture
def api() -> Iterator[tuple[ApiServer, Recorder]]:
    recorder = Recorder()
    server = ApiServer(recorder, port=0, max_payload_bytes=LIMIT).start()
    try:
        yield server, recorder
    finally:
        server.stop()


def raw_exchange(server: ApiServer, head: bytes, body_parts: list[bytes]) -> bytes:
    """Send a request as written, then read until the server closes (bounded by a timeout)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        for part in body_parts:
            sock.sendall(part)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_an_oversized_body_gets_413_saying_the_connection_closes(api):
    server, recorder = api
    # Given a body over the payload limit, announced with Content-Length
    body = b"x" * (LIMIT * 3)
    head = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
    # When it is sent in full
    answer = raw_exchange(server, head, [body[i : i + 1000] for i in range(0, len(body), 1000)])
    # Then API Gateway's 413 comes back, says the connection closes, and then it does; no handler ran
    status, _, rest = answer.partition(b"\r\n")
    headers = rest.split(b"\r\n\r\n")[0].lower()
    assert status == b"HTTP/1.1 413 Request Entity Too Large"
    assert b"connection: close" in headers
    assert answer.endswith(b'{"message":"Request Entity Too Large"}')
    assert recorder.calls == 0


def test_an_oversized_chunked_body_is_read_away_before_the_413(api):
    server, recorder = api
    # Given a chunked body (no length announced) that grows past the limit over several chunks
    chunk = b"y" * 1500
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6)] + [b"0\r\n\r\n"]
    head = b"POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    # When all of it is sent
    answer = raw_exchange(server, head, parts)
    # Then the client reads a whole 413 (not a reset) that says the connection closes; no handler ran
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in answer.split(b"\r\n\r\n")[0].lower()
    assert answer.endswith(b'{"message":"Request Entity Too Large"}')
    assert recorder.calls == 0


def test_a_keep_alive_client_goes_on_after_each_413(api):
    server, recorder = api
    # Given one keep-alive session, as a backend's HTTP client holds
    session = requests.Session()
    try:
        for _ in range(10):
            # When it alternates oversized and normal requests
            too_big = session.post(server.url + "/events", data=b"z" * (LIMIT + 1), timeout=10)
            normal = session.post(server.url + "/events", json={"data": []}, timeout=10)
            # Then every oversized one gets the 413 and every next one is served
            assert too_big.status_code == 413
            assert normal.status_code == 200
    finally:
        session.close()
    assert recorder.calls == 10
