"""MetaClient over real HTTP: request shape, token handling, pooling, and error classification."""

from __future__ import annotations

import hashlib
import hmac
import socket

import pytest

from capi_relay.errors import PermanentMetaError, ThrottledMetaError, TokenMetaError, TransientMetaError
from capi_relay.json_codec import FAST_AFTER_EVENTS
from capi_relay.meta_client import MetaClient
from capi_relay.model import Credentials
from local.graph_sandbox import GraphSandbox

TOKEN = "EAAB-canary-token-91f2"
CANARY = "canary-7f3a"
EVENTS = [{"event_name": "Lead", "event_time": 1, "user_data": {"em": "ab" * 32}}]


@pytest.fixture
def client(scripted_graph):
    meta = MetaClient(scripted_graph.url, "v24.0", timeout=(2, 2))
    yield meta
    meta.close()


def test_send_posts_events_with_the_token_in_the_body_only(client, scripted_graph):
    # Given a client and credentials without an app secret
    # When events are sent
    response = client.send("1234", EVENTS, Credentials(TOKEN))
    # Then one POST to /{version}/{pixel}/events carries data and token in a JSON body, nothing in the URL
    [request] = scripted_graph.requests
    assert request["path"] == "/v24.0/1234/events"
    assert request["query"] == {}
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {"data": EVENTS, "access_token": TOKEN}
    assert TOKEN not in request["path"]
    # And Meta's answer is read
    assert (response.events_received, response.fbtrace_id, response.messages) == (1, "trace-ok", [])


def test_test_event_code_is_passed_through(client, scripted_graph):
    client.send("1234", EVENTS, Credentials(TOKEN), test_event_code="TEST123")
    assert scripted_graph.requests[0]["json"]["test_event_code"] == "TEST123"


def test_request_level_options_are_sent_and_cannot_replace_data_or_token(client, scripted_graph):
    # Given Meta's request-level parameters, and keys a careless caller might slip in beside them
    options = {"partner_agent": "woo-1", "upload_tag": "t", "access_token": "EAA-stolen", "data": "[]"}
    client.send("1234", EVENTS, Credentials(TOKEN), options=options)
    # Then Meta gets the parameters, with the relay's own events and token untouched
    body = scripted_graph.requests[0]["json"]
    assert body == {"data": EVENTS, "access_token": TOKEN, "partner_agent": "woo-1", "upload_tag": "t"}


def test_appsecret_proof_is_accepted_by_a_graph_that_checks_it():
    # Given a Graph sandbox that requires appsecret_proof for this app secret
    with GraphSandbox(token=TOKEN, pixels=["1234"], app_secret="app-secret-1") as graph:
        meta = MetaClient(graph.url, "v24.0", timeout=(2, 5))
        try:
            # When events are sent with the app secret, and once with a wrong one
            ok = meta.send(
                "1234",
                [{**EVENTS[0], "event_time": _now(), "action_source": "app"}],
                Credentials(TOKEN, "app-secret-1"),
            )
            with pytest.raises(PermanentMetaError):
                meta.send("1234", EVENTS, Credentials(TOKEN, "wrong-secret"))
        finally:
            meta.close()
    # Then the right proof is accepted
    assert ok.events_received == 1


def test_appsecret_proof_is_hmac_sha256_of_the_token(client, scripted_graph):
    client.send("1234", EVENTS, Credentials(TOKEN, "app-secret-1"))
    expected = hmac.new(b"app-secret-1", TOKEN.encode(), hashlib.sha256).hexdigest()
    assert scripted_graph.requests[0]["json"]["appsecret_proof"] == expected


def test_connections_are_reused_between_sends(client, scripted_graph):
    # When two requests are sent one after the other
    client.send("1234", EVENTS, Credentials(TOKEN))
    client.send("1234", EVENTS, Credentials(TOKEN))
    # Then they came over the same TCP connection (same client port)
    ports = {r["client_port"] for r in scripted_graph.requests}
    assert len(scripted_graph.requests) == 2 and len(ports) == 1


def test_each_send_carries_its_own_body_length_and_url_through_the_prepared_request(client, scripted_graph):
    # Given a client that prepares each Graph URL's request once and then changes only the body
    small = EVENTS
    large = [{**EVENTS[0], "event_id": f"order-{i}", "custom_data": {"note": "é" * i}} for i in range(40)]
    # When bodies of different sizes go to one pixel, then another pixel, then the first again
    for pixel, events in (("1234", small), ("1234", large), ("5678", small), ("1234", large)):
        client.send(pixel, events, Credentials(TOKEN))
    # Then every request arrived whole, at its own pixel's URL, with its own Content-Length
    got = [
        (r["path"], len(r["json"]["data"]), int(r["headers"]["Content-Length"]))
        for r in scripted_graph.requests
    ]
    sizes = [len(r["raw"]) for r in scripted_graph.requests]
    assert got == [
        ("/v24.0/1234/events", 1, sizes[0]),
        ("/v24.0/1234/events", 40, sizes[1]),
        ("/v24.0/5678/events", 1, sizes[2]),
        ("/v24.0/1234/events", 40, sizes[3]),
    ]
    assert sizes[0] < sizes[1] and all(r["json"]["access_token"] == TOKEN for r in scripted_graph.requests)
    # And each with the client's own headers
    assert {(r["headers"]["Content-Type"], r["headers"]["User-Agent"]) for r in scripted_graph.requests} == {
        ("application/json", "capi-relay/0.1")
    }


def test_a_busy_client_sends_every_value_as_a_quiet_one_does(client, scripted_graph):
    # Given events with what a Graph body can hold: Unicode, control characters, floats, nesting, and
    # integers beyond 64 bits (which orjson cannot write)
    odd = {"note": 'é\u2028\x00"\\ 😀', "price": 0.1 + 0.2, "ids": [7, 1e-7], "order": -(2**63)}
    events = [{**EVENTS[0], "event_id": f"e-{i}", "custom_data": {**odd, "n": i}} for i in range(3)]
    huge = [{**EVENTS[0], "custom_data": {"value": 2**64 + 1, "order": -(2**63) - 1, "ids": [1e-7]}}]
    # When a quiet client sends them (json writes), then a batch of FAST_AFTER_EVENTS switches it to
    # orjson, and it sends them again
    client.send("1234", events, Credentials(TOKEN))
    batch = [{**EVENTS[0], "event_id": f"b-{i}"} for i in range(FAST_AFTER_EVENTS)]
    client.send("1234", batch, Credentials(TOKEN))
    client.send("1234", events, Credentials(TOKEN))
    client.send("1234", huge, Credentials(TOKEN))
    # Then the Graph API read the same events, value for value, each time, and the whole batch
    quiet, busy_batch, busy, busy_huge = (r["json"]["data"] for r in scripted_graph.requests)
    assert quiet == busy == events
    assert busy_batch == batch and busy_huge == huge
    # And json wrote the quiet body and the one orjson cannot write (they spell 1e-7 differently)
    assert [b"1e-07" in r["raw"] for r in scripted_graph.requests] == [True, False, False, True]


def test_the_proxy_of_the_environment_at_start_carries_every_send(scripted_graph, monkeypatch):
    # Given a container whose environment names an HTTP proxy (a company network), read once at start
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", scripted_graph.url)
    meta = MetaClient("http://graph.invalid", "v24.0", timeout=(2, 2))
    monkeypatch.delenv("HTTP_PROXY")
    try:
        # When two sends go out through the prepared request, after the environment changed
        meta.send("1234", EVENTS, Credentials(TOKEN))
        meta.send("1234", EVENTS, Credentials(TOKEN))
    finally:
        meta.close()
    # Then both went through the proxy (a host that does not resolve was never contacted)
    assert [r["path"] for r in scripted_graph.requests] == ["/v24.0/1234/events"] * 2


def test_a_cookie_the_graph_sets_is_never_sent_back(client, scripted_graph):
    # Given a Graph answer that sets a cookie (as a proxy or load balancer on the way might)
    scripted_graph.reply(headers={"Set-Cookie": "tracking=canary-7f3a; Path=/"})
    # When the next events are sent
    client.send("1234", EVENTS, Credentials(TOKEN))
    client.send("1234", EVENTS, Credentials(TOKEN))
    # Then no request carries a cookie: one customer's request cannot tag the next one's
    assert [r["headers"].get("Cookie") for r in scripted_graph.requests] == [None, None]


@pytest.mark.parametrize(
    ("status", "code", "subcode", "extra", "expected"),
    [
        (500, 1, None, {}, TransientMetaError),
        (503, 2, None, {}, TransientMetaError),
        (400, 4, None, {}, ThrottledMetaError),
        (400, 17, None, {}, ThrottledMetaError),
        (400, 32, None, {}, ThrottledMetaError),
        (400, 341, None, {}, TransientMetaError),
        (400, 368, None, {}, TransientMetaError),
        (400, 613, None, {}, ThrottledMetaError),
        (400, 80004, None, {}, ThrottledMetaError),
        # the ads-throttling family, as Meta sends it: is_transient false, yet retrying later is right
        (400, 80000, None, {"is_transient": False}, ThrottledMetaError),
        (400, 80003, None, {"is_transient": False}, ThrottledMetaError),
        (400, 80014, 2446079, {"is_transient": False}, ThrottledMetaError),
        (400, 613, 1996, {"is_transient": False}, ThrottledMetaError),
        (400, 100, None, {"is_transient": True}, TransientMetaError),
        (429, 100, None, {}, ThrottledMetaError),
        (500, 100, None, {}, TransientMetaError),
        (400, 190, None, {}, TokenMetaError),
        (400, 190, 463, {}, TokenMetaError),
        (401, 102, None, {}, TokenMetaError),
        (400, 100, None, {}, PermanentMetaError),
        (400, 100, 2804003, {}, PermanentMetaError),
        (400, 100, 2804050, {"is_transient": False}, PermanentMetaError),
        (400, 100, 33, {}, PermanentMetaError),
        (403, 200, None, {}, PermanentMetaError),
        (400, 10, None, {}, PermanentMetaError),
    ],
    ids=lambda v: str(v) if not isinstance(v, dict | type) else "",
)
def test_graph_errors_are_classified(client, scripted_graph, status, code, subcode, extra, expected):
    # Given Meta answering with this status and Graph error
    scripted_graph.error(code, status, subcode, **extra)
    # When events are sent
    with pytest.raises(expected) as raised:
        client.send("1234", EVENTS, Credentials(TOKEN))
    # Then the error holds status, code, subcode and trace id — and never Meta's text or the token
    error = raised.value
    assert type(error) is expected
    assert error.summary() == {
        "error_class": expected.error_class,
        "status": status,
        "graph_code": code,
        "graph_subcode": subcode,
        "fbtrace_id": f"trace-{code}",
    }
    assert CANARY not in str(error) and TOKEN not in str(error) and TOKEN not in repr(error.__dict__)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (502, b"<html>Bad Gateway</html>", TransientMetaError),
        (504, b"", TransientMetaError),
        (429, b"", TransientMetaError),
        (403, b"<html>Forbidden</html>", PermanentMetaError),
        (404, b"{}", PermanentMetaError),
        (200, b"<html>captive portal</html>", TransientMetaError),
        (200, {"success": True}, TransientMetaError),
        (302, b"", TransientMetaError),
    ],
    ids=["502-html", "504-empty", "429-empty", "403-html", "404-no-error", "200-html", "200-no-count", "302"],
)
def test_answers_without_a_graph_error_are_classified_by_status(
    client, scripted_graph, status, body, expected
):
    scripted_graph.reply(status, body)
    with pytest.raises(expected) as raised:
        client.send("1234", EVENTS, Credentials(TOKEN))
    assert raised.value.status == status


def test_read_timeout_is_transient(scripted_graph):
    # Given a Graph that never answers, and a short read timeout
    scripted_graph.reply(hold=True)
    meta = MetaClient(scripted_graph.url, "v24.0", timeout=(2, 0.2))
    try:
        # When events are sent
        with pytest.raises(TransientMetaError) as raised:
            meta.send("1234", EVENTS, Credentials(TOKEN))
    finally:
        meta.close()
    # Then it is a transient error without any HTTP status
    assert raised.value.status is None
    assert "ReadTimeout" in str(raised.value)


def test_connection_refused_is_transient():
    # Given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    meta = MetaClient(f"http://127.0.0.1:{port}/", "v24.0", timeout=(1, 1))
    try:
        with pytest.raises(TransientMetaError) as raised:
            meta.send("1234", EVENTS, Credentials(TOKEN))
    finally:
        meta.close()
    assert TOKEN not in str(raised.value)


def test_credentials_never_show_in_a_repr():
    assert TOKEN not in repr(Credentials(TOKEN, "app-secret-1"))
    assert "app-secret-1" not in repr(Credentials(TOKEN, "app-secret-1"))


def _now() -> int:
    import time

    return int(time.time())
