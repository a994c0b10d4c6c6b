"""POST /{version}/{pixel_id}/events: Meta's own clients and shapes, through the real ingest handler
behind the local API server, against the moto server and the Graph sandbox over real HTTP.

Meta's Python Business SDK (facebook-business, pinned in requirements-dev.txt) is pointed at the relay
the way docs/graph-endpoint.md tells a user to: `FacebookSession.GRAPH = <relay URL>`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData
from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.exceptions import FacebookRequestError

from local.api_server import GRAPH_ROUTE, ApiServer
from tests.conftest import API_VERSION, META_TOKEN, PIXEL_ID
from tests.integration.conftest import _log_to_current_stdout

API_KEY = "k_live_graph-door-canary-71c3"
META_LOOKING = "EAAGm0PX4ZCpsBAGraphCanary7Zx9kQ2ZBwZDZD"  # a Meta user token's shape: refused, never logged
EMAIL = "graph.canary@shop.example"
PHONE = "+1 650 555 0172"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def relay_url(handlers) -> Iterator[str]:
    """The ingest handler behind the local API server (as `make run` serves it), on a free port."""
    server = ApiServer(handlers.ingest_handler, port=0, web_root=None).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def open_relay(handlers) -> None:
    """A deployment with OpenRelay=true (for trials): no credentials needed. Before relay_url."""
    handlers.restart(OPEN_RELAY="true")


@pytest.fixture
def locked(local_aws) -> None:
    """The relay's secret holds an API key: callers must present it."""
    local_aws.put_token(META_TOKEN, api_keys=[API_KEY])


@pytest.fixture
def sdk(relay_url, monkeypatch) -> Iterator[None]:
    """Meta's Python SDK, its Graph base URL pointed at the relay (the one line a user changes)."""
    monkeypatch.setattr(FacebookSession, "GRAPH", relay_url)
    previous = FacebookAdsApi.get_default_api()
    yield
    FacebookAdsApi.set_default_api(previous)


def init_sdk(key: str, app_secret: str | None = None) -> None:
    FacebookAdsApi.init(access_token=key, app_secret=app_secret, api_version=API_VERSION, crash_log=False)


def purchase(order: str, **custom: object) -> Event:
    return Event(
        event_name="Purchase",
        event_time=int(time.time()) - 5,
        event_id=order,
        event_source_url="https://shop.example/thanks",
        action_source=ActionSource.WEBSITE,
        user_data=UserData(
            emails=[EMAIL],
            phones=[PHONE],
            client_ip_address="203.0.113.9",
            client_user_agent="Mozilla/5.0 (canary)",
        ),
        custom_data=CustomData(**({"value": 9.99, "currency": "eur"} | custom)),
    )


def post(url: str, pixel: str = PIXEL_ID, **kwargs) -> requests.Response:
    return requests.post(f"{url}/{API_VERSION}/{pixel}/events", timeout=10, **kwargs)


def event_dict(order: str = "ord-1") -> dict:
    return {
        "event_name": "Purchase",
        "event_time": int(time.time()) - 5,
        "event_id": order,
        "action_source": "website",
        "event_source_url": "https://shop.example/thanks",
        "user_data": {"em": [sha(EMAIL)], "client_ip_address": "203.0.113.9", "client_user_agent": "UA"},
        "custom_data": {"value": 5, "currency": "USD"},
    }


def assert_meta_error(response: requests.Response, code: int) -> dict:
    """Meta's error envelope with this code, and never a 5xx."""
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and "error_subcode" in error and error["fbtrace_id"]
    return error


# --- Meta's Python SDK -----------------------------------------------------------------------------


def test_python_sdk_execute_returns_events_received_and_meta_gets_hashed_events(locked, sdk, graph_sandbox):
    # Given the SDK initialised with a relay API key (and an app secret: its proof is ignored)
    init_sdk(API_KEY, app_secret="sdk-app-secret")
    # When it sends two raw events as it would to Meta
    response = EventRequest(pixel_id=PIXEL_ID, events=[purchase("ord-a"), purchase("ord-b")]).execute()
    # Then it gets Meta's answer and Meta the events, hashed (the SDK hashes; values pass through)
    assert response.events_received == 2 and response.fbtrace_id
    rows = graph_sandbox.events()
    assert [r["event"]["event_id"] for r in rows] == ["ord-a", "ord-b"]
    assert rows[0]["event"]["user_data"]["em"] == [sha(EMAIL)]
    assert rows[0]["event"]["user_data"]["client_ip_address"] == "203.0.113.9"
    assert rows[0]["event"]["custom_data"]["currency"] == "eur"


def test_python_sdk_invalid_event_raises_request_error_code_100_and_nothing_is_sent(
    locked, sdk, graph_sandbox
):
    # Given one valid event and a Purchase without value or currency, in one batch
    init_sdk(API_KEY)
    bad = Event(
        event_name="Purchase",
        event_time=int(time.time()),
        event_source_url="https://shop.example/x",
        action_source=ActionSource.WEBSITE,
        user_data=UserData(emails=[EMAIL], client_ip_address="203.0.113.9", client_user_agent="UA"),
    )
    # When the SDK sends it
    with pytest.raises(FacebookRequestError) as raised:
        EventRequest(pixel_id=PIXEL_ID, events=[purchase("ord-ok"), bad]).execute()
    # Then it raises as Meta would make it, naming the event and field, and Meta got none (as Meta)
    assert raised.value.api_error_code() == 100
    assert "data[1].custom_data.value" in raised.value.api_error_message()
    assert graph_sandbox.events() == []


def test_python_sdk_with_a_wrong_key_raises_code_190(locked, sdk, graph_sandbox):
    init_sdk("k_live_not-a-key-of-this-relay")
    with pytest.raises(FacebookRequestError) as raised:
        EventRequest(pixel_id=PIXEL_ID, events=[purchase("ord-c")]).execute()
    assert raised.value.api_error_code() == 190
    assert raised.value.api_error_type() == "OAuthException"
    assert graph_sandbox.events() == []


def test_python_sdk_with_a_meta_token_is_refused_and_the_token_is_never_logged(sdk, graph_sandbox, capsys):
    # Given an open relay (no keys) and a careless integrator who kept their Meta token
    _log_to_current_stdout()  # the handler's log lines go to this test's capsys
    init_sdk(META_LOOKING)
    with pytest.raises(FacebookRequestError) as raised:
        EventRequest(pixel_id=PIXEL_ID, events=[purchase("ord-d")]).execute()
    # Then it is refused with words that say why, and the token is nowhere the relay writes
    assert raised.value.api_error_code() == 190
    assert "Meta access token" in raised.value.api_error_message()
    assert META_LOOKING not in json.dumps(raised.value.body())
    assert graph_sandbox.events() == []
    logged = capsys.readouterr()
    assert "meta_token_refused" in logged.out  # the refusal is logged, by code
    assert META_LOOKING not in logged.out + logged.err, logged


def test_python_sdk_test_event_code_reaches_meta(locked, sdk, graph_sandbox):
    init_sdk(API_KEY)
    request = EventRequest(pixel_id=PIXEL_ID, events=[purchase("ord-t")], test_event_code="TEST4711")
    assert request.execute().events_received == 1
    assert [r["test_event_code"] for r in graph_sandbox.events()] == ["TEST4711"]


def test_python_sdk_events_queued_for_retry_count_as_received(locked, sdk, graph_sandbox, local_aws):
    # Given Meta failing every request
    graph_sandbox.add_fault({"kind": "5xx", "rate": 1.0})
    init_sdk(API_KEY)
    # When the SDK sends, the events wait in the retry queue and the SDK is told they were received
    response = EventRequest(pixel_id=PIXEL_ID, events=[purchase("ord-q1"), purchase("ord-q2")]).execute()
    assert response.events_received == 2
    queued = [e["event_id"] for m in local_aws.messages("retry") for e in m["json"]["data"]]
    assert sorted(queued) == ["ord-q1", "ord-q2"]


OPTIONS = {
    "partner_agent": "woo-capi-7.1.0-canary",
    "namespace_id": "ns-canary-5521",
    "upload_tag": "store-upload-canary",
    "upload_id": "upload-canary-88",
    "upload_source": "server-canary",
}


def graph_calls(graph_sandbox) -> list[dict]:
    """The request-level parameters of each Graph call the sandbox answered 200 or failed."""
    return [r["options"] for r in graph_sandbox.requests()]


def test_python_sdk_request_level_parameters_reach_meta_and_are_not_logged(
    locked, sdk, graph_sandbox, capsys
):
    init_sdk(API_KEY)
    request = EventRequest(pixel_id=PIXEL_ID, events=[purchase("ord-o1")], **OPTIONS)
    assert request.execute().events_received == 1
    assert graph_calls(graph_sandbox) == [OPTIONS]
    logged = capsys.readouterr()
    assert not [v for v in OPTIONS.values() if v in logged.out + logged.err], logged


def test_python_sdk_request_level_parameters_survive_the_retry_queue(
    locked, sdk, graph_sandbox, local_aws, handlers, capsys
):
    # Given Meta failing once: the SDK's events wait in the retry queue, the parameters with them
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    init_sdk(API_KEY)
    request = EventRequest(pixel_id=PIXEL_ID, events=[purchase("ord-r1"), purchase("ord-r2")], **OPTIONS)
    assert request.execute().events_received == 2
    [queued] = [m["json"] for m in local_aws.messages("retry")]
    assert {name: queued.get(name) for name in OPTIONS} == OPTIONS
    # When the retry function redelivers the message
    assert handlers.retry(handlers.receive()) == {"batchItemFailures": []}
    # Then the redelivered Graph request carries them, like the first (failed) one did
    assert graph_calls(graph_sandbox) == [OPTIONS, OPTIONS]
    assert sorted(r["event"]["event_id"] for r in graph_sandbox.events()) == ["ord-r1", "ord-r2"]
    logged = capsys.readouterr()
    assert not [v for v in OPTIONS.values() if v in logged.out + logged.err], logged


def test_a_retry_message_queued_without_request_parameters_is_still_delivered(
    locked, relay_url, graph_sandbox, local_aws, handlers
):
    # Given a message as older relays queued it: test_event_code only
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    assert post(relay_url, json={"data": [event_dict("ord-old")], "access_token": API_KEY}).status_code == 200
    [queued] = [m["json"] for m in local_aws.messages("retry")]
    assert not set(OPTIONS) & set(queued)
    # When it is redelivered, it reaches Meta without any
    assert handlers.retry(handlers.receive()) == {"batchItemFailures": []}
    assert graph_calls(graph_sandbox)[-1] == {}
    assert [r["event"]["event_id"] for r in graph_sandbox.events()] == ["ord-old"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("partner_agent", 7), ("upload_tag", ["a"]), ("namespace_id", {"x": 1}), ("upload_id", "u" * 2049)],
)
def test_a_wrong_request_parameter_is_code_100_naming_it(locked, relay_url, graph_sandbox, name, value):
    response = post(relay_url, json={"data": [event_dict()], "access_token": API_KEY, name: value})
    error = assert_meta_error(response, 100)
    assert name in error["message"] and error["error_data"]["errors"][0]["field"] == name
    assert graph_sandbox.requests() == []


def test_request_parameters_at_the_top_of_post_events_reach_meta(open_relay, relay_url, graph_sandbox):
    body = {"data": [event_dict("ord-top")], **OPTIONS}
    response = requests.post(f"{relay_url}/events", json=body, timeout=10)
    assert response.status_code == 200 and response.json()["event_ids"] == ["ord-top"]
    assert graph_calls(graph_sandbox) == [OPTIONS]
    # a single-event body carries them too, beside the event's own fields
    response = requests.post(
        f"{relay_url}/events", json={**event_dict("ord-one"), "upload_tag": "t1"}, timeout=10
    )
    assert response.status_code == 200
    assert graph_calls(graph_sandbox)[-1] == {"upload_tag": "t1"}


@pytest.mark.parametrize("value", [7, "", True, ["x"], "x" * 2049])
def test_post_events_with_a_wrong_request_parameter_is_a_400_naming_it(
    open_relay, relay_url, graph_sandbox, value
):
    body = {"data": [event_dict()], "namespace_id": value}
    response = requests.post(f"{relay_url}/events", json=body, timeout=10)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("namespace_id", "namespace_id_invalid")
    assert graph_sandbox.requests() == []


def test_python_sdk_unknown_pixel_is_code_100(locked, sdk, graph_sandbox):
    init_sdk(API_KEY)
    with pytest.raises(FacebookRequestError) as raised:
        EventRequest(pixel_id="9999999999", events=[purchase("ord-p")]).execute()
    assert raised.value.api_error_code() == 100
    assert raised.value.api_error_subcode() == 33
    assert graph_sandbox.events() == []


# --- plain Conversions API callers -----------------------------------------------------------------


def test_form_encoded_data_string_with_token_in_the_body(locked, relay_url, graph_sandbox):
    # curl --data-urlencode, as Meta's docs call it: raw values, the relay normalizes and hashes
    event = event_dict("ord-form") | {
        "user_data": {"em": " Graph.Canary@Shop.Example ", "ph": PHONE, "client_user_agent": "UA"}
    }
    response = post(relay_url, data={"data": json.dumps([event]), "access_token": API_KEY})
    assert response.status_code == 200, response.text
    assert response.json()["events_received"] == 1 and response.json()["messages"] == []
    assert response.json()["fbtrace_id"]
    sent = graph_sandbox.events()[0]["event"]["user_data"]
    assert sent["em"] in (sha(EMAIL), [sha(EMAIL)]) and sent["ph"] in (
        sha("16505550172"),
        [sha("16505550172")],
    )


def test_json_body_with_data_array(locked, relay_url, graph_sandbox):
    body = {"data": [event_dict("ord-j1"), event_dict("ord-j2")], "access_token": API_KEY}
    response = post(relay_url, json=body)
    assert response.status_code == 200 and response.json()["events_received"] == 2
    assert graph_sandbox.events()[0]["event"]["user_data"]["em"] == [sha(EMAIL)]  # pre-hashed: unchanged


def test_json_body_with_data_as_a_string_and_token_in_the_query(locked, relay_url, graph_sandbox):
    response = post(
        relay_url, params={"access_token": API_KEY}, json={"data": json.dumps([event_dict("ord-js")])}
    )
    assert response.status_code == 200 and response.json()["events_received"] == 1


def test_bearer_header_php_style_indexed_fields_and_multipart(locked, relay_url, graph_sandbox):
    auth = {"Authorization": f"Bearer {API_KEY}"}
    indexed = {"data[0]": json.dumps(event_dict("ord-i0")), "data[1]": json.dumps(event_dict("ord-i1"))}
    assert post(relay_url, data=indexed, headers=auth).json()["events_received"] == 2
    # curl -F data=... -F access_token=... (Meta's own examples): multipart/form-data
    parts = {"data": (None, json.dumps([event_dict("ord-m")])), "access_token": (None, API_KEY)}
    response = post(relay_url, files=parts)
    assert response.status_code == 200 and response.json()["events_received"] == 1
    assert [r["event"]["event_id"] for r in graph_sandbox.events()] == ["ord-i0", "ord-i1", "ord-m"]


def test_test_event_code_in_a_form_reaches_meta(locked, relay_url, graph_sandbox):
    form = {"data": json.dumps([event_dict()]), "access_token": API_KEY, "test_event_code": "TEST99"}
    form |= {"partner_agent": "woo-1.2", "namespace_id": "ns", "upload_tag": "t", "appsecret_proof": "x"}
    assert post(relay_url, data=form).status_code == 200
    assert graph_sandbox.events()[0]["test_event_code"] == "TEST99"
    assert graph_calls(graph_sandbox) == [
        {"partner_agent": "woo-1.2", "namespace_id": "ns", "upload_tag": "t"}
    ]


def test_missing_key_on_a_locked_relay_is_code_104(locked, relay_url, graph_sandbox):
    error = assert_meta_error(post(relay_url, data={"data": json.dumps([event_dict()])}), 104)
    assert error["type"] == "OAuthException"


@pytest.mark.parametrize(
    "token", [META_LOOKING, "1234567890123|Zq0Vx3bYpRt8nL2kWm4s"], ids=["user-token", "app-token"]
)
def test_meta_tokens_are_refused_even_on_an_open_relay(relay_url, graph_sandbox, capsys, token):
    _log_to_current_stdout()
    response = post(relay_url, data={"data": json.dumps([event_dict()]), "access_token": token})
    error = assert_meta_error(response, 190)
    assert "never send it here" in error["message"] and token not in response.text
    assert graph_sandbox.events() == []
    logged = capsys.readouterr().out
    assert "meta_token_refused" in logged and token not in logged


def test_an_open_relay_takes_any_key_as_x_api_key_does(open_relay, relay_url, graph_sandbox):
    form = {"data": json.dumps([event_dict()]), "access_token": "anything-goes-here"}
    assert post(relay_url, data=form).json()["events_received"] == 1


def test_unknown_pixel_and_non_numeric_pixel_are_code_100(locked, relay_url, graph_sandbox):
    form = {"data": json.dumps([event_dict()]), "access_token": API_KEY}
    for pixel in ("5555555555", "me", "act_123"):
        error = assert_meta_error(post(relay_url, pixel, data=form), 100)
        assert error["error_subcode"] == 33
    assert graph_sandbox.events() == []


def test_a_browser_form_from_a_foreign_origin_is_refused(relay_url, graph_sandbox):
    # a form post is a "simple" request no CORS preflight stops: the origin allow-list still holds
    form = {"data": json.dumps([event_dict()])}
    response = post(relay_url, data=form, headers={"Origin": "https://evil.example"})
    assert_meta_error(response, 200)
    assert graph_sandbox.events() == []


HOSTILE = {
    "huge data string": dict(data={"data": "[" + "1," * 600_000 + "1]", "access_token": API_KEY}),
    "nested junk": dict(data={"data": "[" * 50_000 + "]" * 50_000, "access_token": API_KEY}),
    "nested event": dict(
        data={"data": json.dumps([{"custom_data": {"a": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}}])}
    ),
    "data not json": dict(data={"data": "{'event_name': 'Purchase'}", "access_token": API_KEY}),
    "data an object": dict(json={"data": {"event_name": "Purchase"}, "access_token": API_KEY}),
    "data missing": dict(data={"access_token": API_KEY}),
    "data list of numbers": dict(json={"data": [1, 2], "access_token": API_KEY}),
    "event string not json": dict(json={"data": ["nope"], "access_token": API_KEY}),
    "xml body": dict(data=b"<data/>", headers={"Content-Type": "application/xml"}),
    "text/plain json": dict(
        data=json.dumps({"data": [event_dict()]}), headers={"Content-Type": "text/plain"}
    ),
    "binary form": dict(
        data=b"\xff\xfe\x00data=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    ),
    "json array body": dict(json=[event_dict()]),
    "too many form fields": dict(data="&".join(f"f{i}=1" for i in range(3000))),
    "multipart file part": dict(files={"data": ("events.json", b"[]")}),
    "multipart no boundary": dict(data=b"x", headers={"Content-Type": "multipart/form-data"}),
    "token a list": dict(json={"data": [event_dict()], "access_token": [API_KEY]}),
    "test code an object": dict(
        json={"data": [event_dict()], "access_token": API_KEY, "test_event_code": {}}
    ),
    "partner_agent a number": dict(
        json={"data": [event_dict()], "access_token": API_KEY, "partner_agent": 7}
    ),
    "NaN in data": dict(data={"data": '[{"event_name":"Lead","value":NaN}]', "access_token": API_KEY}),
}


@pytest.mark.parametrize("request_kwargs", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_requests_get_meta_shaped_4xx_never_5xx(locked, relay_url, graph_sandbox, request_kwargs):
    response = post(relay_url, **request_kwargs)
    error = response.json()["error"]
    assert 400 <= response.status_code < 500, response.text
    assert error["code"] in (100, 104, 190) and error["fbtrace_id"] and error["message"]
    assert graph_sandbox.events() == []


def test_a_body_over_the_limit_is_413_code_100(locked, relay_url, graph_sandbox):
    big = {
        "data": json.dumps([event_dict() | {"custom_data": {"x": "y" * 2000}}] * 600),
        "access_token": API_KEY,
    }
    response = post(relay_url, data=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == 100


def test_bad_version_in_the_path_is_code_100(locked, relay_url, graph_sandbox):
    form = {"data": json.dumps([event_dict()]), "access_token": API_KEY}
    response = requests.post(f"{relay_url}/latest/{PIXEL_ID}/events", data=form, timeout=10)
    assert_meta_error(response, 100)


def test_the_relay_door_is_unchanged(open_relay, relay_url, graph_sandbox):
    # POST /events still answers in the relay's own shape
    response = requests.post(f"{relay_url}/events", json=event_dict("ord-relay"), timeout=10)
    assert response.status_code == 200 and response.json()["event_ids"] == ["ord-relay"]


# --- Meta's Node SDK (facebook-nodejs-business-sdk, installed by `make npm-deps`) --------------------

NODE_SDK = Path(__file__).resolve().parent.parent / "node_sdk"


def run_node_sdk(relay_url: str, token: str, pixel: str, case: str) -> dict:
    if not (NODE_SDK / "node_modules" / "facebook-nodejs-business-sdk").is_dir():
        message = "Meta's Node SDK is not installed: run `make npm-deps`"
        if os.environ.get("CI"):
            pytest.fail(message)  # `make test` installs it; under CI nothing may be skipped
        pytest.skip(message)
    node = shutil.which("node")
    assert node, "node is needed for Meta's Node SDK"
    done = subprocess.run(
        [node, "send_events.js", relay_url, token, pixel, case],
        cwd=NODE_SDK,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_node_sdk_execute_returns_events_received_with_the_test_code(locked, relay_url, graph_sandbox):
    answer = run_node_sdk(relay_url, API_KEY, PIXEL_ID, "two")
    assert answer["ok"] and answer["events_received"] == 2 and answer["fbtrace_id"]
    rows = graph_sandbox.events()
    assert [r["event"]["event_id"] for r in rows] == ["node-a", "node-b"]
    assert [r["test_event_code"] for r in rows] == ["NODE42", "NODE42"]
    assert rows[0]["event"]["user_data"]["em"] in (sha(EMAIL), [sha(EMAIL)])


def test_node_sdk_invalid_event_wrong_key_and_unknown_pixel(locked, relay_url, graph_sandbox):
    invalid = run_node_sdk(relay_url, API_KEY, PIXEL_ID, "invalid")
    assert (invalid["ok"], invalid["name"], invalid["code"]) == (False, "FacebookRequestError", 100)
    assert "data[1].custom_data.value" in invalid["message"]
    wrong_key = run_node_sdk(relay_url, "k_live_wrong", PIXEL_ID, "two")
    assert (wrong_key["code"], wrong_key["type"]) == (190, "OAuthException")
    meta_token = run_node_sdk(relay_url, META_LOOKING, PIXEL_ID, "two")
    assert meta_token["code"] == 190 and "Meta access token" in meta_token["message"]
    unknown = run_node_sdk(relay_url, API_KEY, "9999999999", "two")
    assert (unknown["code"], unknown["subcode"]) == (100, 33)
    assert graph_sandbox.events() == []


# --- the routes: template.yaml, the local API server and the handler agree --------------------------


def test_template_routes_the_graph_path_to_the_ingest_function_and_outputs_its_base_url():
    from tests.integration.test_template_monitoring import TEMPLATE, CfnLoader

    template = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 (SafeLoader)
    resources = template["Resources"]
    routes = {
        r["Properties"]["RouteKey"] for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert routes == {"POST /events", "POST /{version}/{pixel_id}/events"}
    # API Gateway may invoke the function for both routes (the permission's source ARN covers them)
    source = json.dumps(resources["HttpApiInvokePermission"]["Properties"]["SourceArn"])
    assert '${HttpApi}/*/POST/*"' in source
    assert GRAPH_ROUTE.fullmatch("/v24.0/1234567890/events")  # the local API server serves it too
    output = json.dumps(template["Outputs"]["GraphBaseUrl"]["Value"])
    assert "execute-api" in output and "CustomDomainName" in output and "/events" not in output
