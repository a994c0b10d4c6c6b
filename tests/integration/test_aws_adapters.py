"""relay_aws on its own: the HTTP API event, the settings, the SQS sink and the secret."""

from __future__ import annotations

import json

import pytest

from capi_relay.errors import QueueUnavailable, SecretUnavailable
from relay_aws import container, http_request, retry_queue, settings, token
from tests.conftest import PIXEL_ID
from tests.integration.lambda_events import http_event, sample, server_event


def test_http_api_event_becomes_an_ingest_request_with_raw_body_cookies_and_source_ip():
    # Given the browser sample (cookies list, mixed-case header added, base64 body)
    event = http_event(
        b'{"event_name": "Lead"}', sample_name="browser_with_cookies_fbclid.json", base64_body=True
    )
    event["headers"]["X-Custom-Header"] = "Yes"
    # When it is parsed
    request = http_request.parse(event)
    # Then the domain gets bytes, lower-case header names, cookies by name, the API Gateway source IP
    assert request.body == b'{"event_name": "Lead"}'
    assert request.headers["x-custom-header"] == "Yes"
    assert request.cookies == {"_fbp": "fb.1.1795640000000.1098765432", "cart": "3"}
    assert request.source_ip == "203.0.113.7"
    assert request.request_id == "Zr7kWgYeoAMEV0C="


def test_cookie_header_is_read_when_the_event_has_no_cookies_list():
    # Given an event from an emulator that left cookies in the header (first duplicate wins)
    event = http_event(
        {"event_name": "Lead"}, headers={"cookie": "_fbp=fb.1.1.2; _fbc=fb.1.3.abc; _fbp=other"}
    )
    event.pop("cookies", None)
    # When it is parsed
    request = http_request.parse(event)
    # Then the cookies come from the header
    assert request.cookies == {"_fbp": "fb.1.1.2", "_fbc": "fb.1.3.abc"}


def test_query_parameters_reach_the_request():
    # Given a request naming its pixel in the query string
    event = http_event(query={"pixel_id": "1234567890"})
    # When it is parsed
    request = http_request.parse(event)
    # Then the domain sees it
    assert request.query == {"pixel_id": "1234567890"}


@pytest.mark.parametrize(
    ("path", "graph"),
    [
        ("/v24.0/1234567890/events", True),
        ("/v24.0/1234567890/events/", True),  # one trailing slash, as Meta takes it
        ("//v24.0/1234567890/events", True),  # a base URL ending in "/"
        ("/anything/else/events", True),  # the shape only: pixel_of() refuses these parts with a 400
        ("/events", False),
        ("/1234567890/events", False),
        ("/v24.0//events", False),
        ("//events", False),
        ("/v24.0/1234567890/events//", False),
        ("/v24.0/1234567890/Events", False),
        ("/v24.0/1234567890/eventsX", False),
        ("/a/v24.0/1234567890/events", False),
        ("v24.0/1234567890/events", False),
        ("/v24.0/1234567890/events?x=1", False),  # rawPath never holds the query
        ("/", False),
        ("", False),
        (None, False),
        (["/v24.0/1/events"], False),
    ],
)
def test_the_graph_door_is_recognised_by_its_path_shape_alone(path, graph):
    # Given a function URL, which hands the function any path a stranger sends
    # When the path is checked for the Graph door's shape, /{version}/{pixel_id}/events
    # Then only that shape is the Graph door (everything else answers 404)
    assert http_request.is_graph_route(path) is graph


def test_settings_read_lists_flags_and_defaults_from_the_environment():
    # Given the variables template.yaml sets, some empty
    env = {
        "META_PIXEL_ID": "111, 222",
        "ALLOWED_ORIGINS": "https://shop.example,https://www.shop.example",
        "ALLOWED_URL_DOMAINS": "",
        "TRUSTED_PROXY": "true",
        "LDU_DEFAULT": "true",
        "DEFAULT_REGION": "US",
        "RETRY_BASE_DELAY_S": "0.5",
    }
    # When they are read
    loaded = settings.from_env(env)
    config = settings.relay_config(loaded, api_keys=("k1",))
    # Then the domain gets tuples, booleans, a lower-case region, LDU with geolocation, and defaults
    assert loaded.pixel_ids == ("111", "222") and loaded.allowed_url_domains == ()
    assert loaded.api_version == "v24.0" and loaded.graph_url == "https://graph.facebook.com"
    assert loaded.retry_base_delay_s == 0.5 and loaded.retry_max_attempts == 12
    assert config.trusted_proxy is True and config.default_region == "us"
    assert (list(config.data_processing_options), config.dpo_country, config.dpo_state) == (["LDU"], 0, 0)
    assert config.api_keys == ("k1",)


def test_settings_without_ldu_send_no_data_processing_options():
    # Given LDU off
    # When the config is built
    config = settings.relay_config(settings.from_env({"LDU_DEFAULT": "false"}))
    # Then nothing is added to events
    assert config.data_processing_options is None and config.dpo_country is None


@pytest.fixture
def adapters(handler_env, local_aws):
    """relay_aws configured from the handlers' environment, as in a new container."""
    container.reset()
    yield local_aws
    container.reset()


@pytest.mark.parametrize(
    "note",
    ["x" * 900, "東京タワー" * 40, "Café crème brûlée 🍮 " * 10],
    ids=["ascii", "japanese", "accents-and-emoji"],
)
def test_events_too_big_for_one_sqs_message_are_queued_in_several_and_every_event_kept(
    server, graph_sandbox, local_aws, note
):
    # Given Meta down, and a batch of 400 events weighing about 400 KB (one SQS message takes 256 KiB),
    # product names in any script (JSON written for SQS escapes non-ASCII text: \u6771 is 6 bytes)
    graph_sandbox.add_fault({"kind": "5xx"})
    base = json.loads(sample("single.json")["body"])  # one event, as a website sends it
    events = [
        {**base, "event_name": "Lead", "event_id": f"e{i}", "custom_data": {"note": note}} for i in range(400)
    ]
    # When a backend (its API key: a server's capability, not a browser's 20 events) posts the batch
    status, body = server.ingest(server_event({"data": events}))
    # Then it is queued as several messages, each under SQS's limit, with the envelope and all events
    assert status == 202 and body["queued"] == 400
    bodies = [m["Body"] for m in local_aws.messages("retry")]
    assert len(bodies) >= 2 and all(len(b.encode()) <= retry_queue.MAX_MESSAGE_BYTES for b in bodies)
    parts = [json.loads(b) for b in bodies]
    assert sorted(e["event_id"] for p in parts for e in p["data"]) == sorted(f"e{i}" for i in range(400))
    assert {p["pixel_id"] for p in parts} == {PIXEL_ID}


def test_missing_queue_raises_queue_unavailable_without_the_body(adapters):
    # Given a sink pointing at a queue that does not exist
    sink = retry_queue.RetryQueue(
        f"{adapters.endpoint}/123456789012/nope", f"{adapters.endpoint}/123456789012/nope"
    )
    # When a message with a canary is sent
    with pytest.raises(QueueUnavailable) as raised:
        sink.dead_letter({"data": [{"user_data": {"em": "canary-7f3a"}}]})
    # Then the domain's error says so, without the message
    assert "canary" not in str(raised.value)


def test_each_pixel_gets_its_own_token_and_app_secret_from_the_secret(adapters):
    # Given a secret with a default token and one pixel with its own
    adapters.put_token("default-token", app_secret="app-s", pixels={"222": "pixel-222-token"})
    # When credentials are asked for each pixel
    default, own = token.credentials("111"), token.credentials("222")
    # Then each gets its token; the app secret is shared; neither shows in a repr
    assert (default.access_token, own.access_token) == ("default-token", "pixel-222-token")
    assert default.app_secret == own.app_secret == "app-s"
    assert "token" not in repr(own)


def test_cached_secret_is_read_again_only_when_forced(adapters):
    # Given a container that has read the secret once
    assert token.credentials("111").access_token == adapters.token
    adapters.put_token("next-token")
    # When credentials are asked again, then with force_refresh (after a Graph 190)
    cached, refreshed = token.credentials("111"), token.credentials("111", True)
    # Then the cache answers first, the new version second
    assert (cached.access_token, refreshed.access_token) == (adapters.token, "next-token")


def test_api_keys_and_hmac_secret_come_from_the_secret(adapters):
    # Given a secret holding server callers' credentials
    adapters.put_token("t", api_keys=["sha256:" + "a" * 64, "plain-key"], hmac_secret="whsec")
    # When the auth policy is read
    keys, secret = token.auth_policy()
    # Then the domain gets them as a tuple and a string
    assert keys == ("sha256:" + "a" * 64, "plain-key") and secret == "whsec"


def test_unreadable_secret_is_a_secret_error_naming_it_so_events_wait(adapters, monkeypatch):
    # Given a container whose SECRET_ID names no secret
    monkeypatch.setenv("SECRET_ID", "capi-relay/no-such-secret")
    container.reset()
    # When credentials are asked for
    with pytest.raises(SecretUnavailable) as raised:
        token.credentials("111")
    # Then the domain gets its own error (queue the events), naming the secret, not a crash
    assert raised.value.error_class == "secret" and raised.value.secret_name == "capi-relay/no-such-secret"
