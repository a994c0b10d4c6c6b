"""enrich_event: defaults and request data, only where the caller sent nothing (DESIGN.md §3)."""

from __future__ import annotations

import uuid

import pytest

from capi_relay.enrich import enrich_event
from capi_relay.model import IngestRequest, RelayConfig

NOW = 1_764_100_000.7
CONFIG = RelayConfig(pixel_ids=("1234",))
UA = "Mozilla/5.0 (X11; Linux x86_64)"
FBP = "fb.1.1764000000000.1234567890"
FBC = "fb.1.1764000000000.IwAR0abc"


def browser(**changes: object) -> IngestRequest:
    """A request as a browser sends it: Referer, User-Agent, source IP and the Pixel's cookies."""
    fields = {
        "body": b"{}",
        "headers": {"referer": "https://shop.example/p?id=1", "user-agent": UA},
        "cookies": {"_fbp": FBP, "_fbc": FBC},
        "source_ip": "198.51.100.23",
        "query": {},
        "request_id": "r-1",
    }
    fields.update(changes)
    return IngestRequest(**fields)  # type: ignore[arg-type]


def test_bare_event_gets_every_default_from_the_request():
    # Given an event with only a name, from a browser
    # When it is enriched
    event, warnings = enrich_event({"event_name": "Lead"}, browser(), CONFIG, NOW)
    # Then time, id, source, URL, UA, IP and cookies are filled in
    assert event["event_time"] == 1_764_100_000
    assert uuid.UUID(event["event_id"]).version == 4
    assert event["action_source"] == "website"
    assert event["event_source_url"] == "https://shop.example/p?id=1"
    assert event["user_data"] == {
        "client_user_agent": UA,
        "client_ip_address": "198.51.100.23",
        "fbp": FBP,
        "fbc": FBC,
    }
    assert warnings == []


def test_fields_the_caller_sent_are_never_replaced():
    # Given an event that carries every field enrichment could fill
    sent = {
        "event_name": "Lead",
        "event_time": 1_764_000_000,
        "event_id": "mine",
        "action_source": "website",
        "event_source_url": "https://shop.example/own",
        "user_data": {
            "client_user_agent": "own-ua",
            "client_ip_address": "192.0.2.1",
            "fbp": "own-fbp",
            "fbc": "own-fbc",
        },
    }
    # When it is enriched
    event, _ = enrich_event(sent, browser(), CONFIG, NOW)
    # Then nothing changed, and the caller's dict was not touched
    assert event == sent
    assert event is not sent and event["user_data"] is not sent["user_data"]


def test_each_event_gets_its_own_event_id():
    first, _ = enrich_event({}, browser(), CONFIG, NOW)
    second, _ = enrich_event({}, browser(), CONFIG, NOW)
    assert first["event_id"] != second["event_id"]


def test_numeric_event_id_becomes_text():
    event, _ = enrich_event({"event_id": 1234}, browser(), CONFIG, NOW)
    assert event["event_id"] == "1234"


def test_millisecond_event_time_is_converted_with_a_warning():
    # Given an event_time in milliseconds (JavaScript's Date.now())
    event, warnings = enrich_event({"event_time": 1_764_099_000_123}, browser(), CONFIG, NOW)
    # Then it becomes seconds, and the caller is told
    assert event["event_time"] == 1_764_099_000
    assert warnings == [{"field": "event_time", "code": "event_time_ms"}]


def test_event_time_as_digits_in_text_becomes_a_number():
    event, warnings = enrich_event({"event_time": "1764099000"}, browser(), CONFIG, NOW)
    assert (event["event_time"], warnings) == (1_764_099_000, [])


def test_event_time_slightly_ahead_is_taken_as_now():
    # Given an event_time 30 s ahead of our clock (a fast client clock; Meta refuses future times)
    event, warnings = enrich_event({"event_time": int(NOW) + 30}, browser(), CONFIG, NOW)
    # Then it is now, with a warning
    assert event["event_time"] == int(NOW)
    assert warnings == [{"field": "event_time", "code": "event_time_clamped"}]


def test_event_time_far_ahead_is_left_for_validation():
    event, warnings = enrich_event({"event_time": int(NOW) + 3600}, browser(), CONFIG, NOW)
    assert (event["event_time"], warnings) == (int(NOW) + 3600, [])


@pytest.mark.parametrize("bad", ["yesterday", True, [1]])
def test_unusable_event_time_is_left_for_validation(bad):
    event, _ = enrich_event({"event_time": bad}, browser(), CONFIG, NOW)
    assert event["event_time"] == bad


def test_forwarded_for_is_ignored_without_a_trusted_proxy():
    # Given a spoofable X-Forwarded-For header and no trusted proxy
    request = browser(headers={"user-agent": UA, "x-forwarded-for": "203.0.113.9, 10.0.0.1"})
    event, _ = enrich_event({}, request, CONFIG, NOW)
    # Then the IP is the one API Gateway saw
    assert event["user_data"]["client_ip_address"] == "198.51.100.23"


def test_forwarded_for_first_hop_is_used_behind_a_trusted_proxy():
    # Given a deployment behind a trusted proxy (e.g. CloudFront)
    config = RelayConfig(pixel_ids=("1234",), trusted_proxy=True)
    request = browser(headers={"user-agent": UA, "x-forwarded-for": " 2001:db8::1 , 10.0.0.1"})
    event, _ = enrich_event({}, request, config, NOW)
    # Then the client's address is the first hop
    assert event["user_data"]["client_ip_address"] == "2001:db8::1"


def test_garbage_forwarded_for_falls_back_to_the_source_ip():
    config = RelayConfig(pixel_ids=("1234",), trusted_proxy=True)
    request = browser(headers={"user-agent": UA, "x-forwarded-for": "unknown"})
    event, _ = enrich_event({}, request, config, NOW)
    assert event["user_data"]["client_ip_address"] == "198.51.100.23"


def test_fbclid_in_the_url_builds_fbc_when_there_is_no_cookie():
    # Given a landing page URL with a click id, and no _fbc cookie
    event = {"event_time": 1_764_099_000, "event_source_url": "https://shop.example/?utm=x&fbclid=IwAR_x-1"}
    enriched, _ = enrich_event(event, browser(cookies={}), CONFIG, NOW)
    # Then fbc is built from the event time in milliseconds and the click id
    assert enriched["user_data"]["fbc"] == "fb.1.1764099000000.IwAR_x-1"
    assert "fbp" not in enriched["user_data"]


def test_fbc_cookie_wins_over_fbclid():
    event = {"event_source_url": "https://shop.example/?fbclid=IwAR_other"}
    enriched, _ = enrich_event(event, browser(), CONFIG, NOW)
    assert enriched["user_data"]["fbc"] == FBC


def test_fbclid_also_works_for_server_events():
    # Given a server-side event that names its landing URL
    event = {"action_source": "system_generated", "event_source_url": "https://shop.example/?fbclid=AbC"}
    enriched, _ = enrich_event(event, browser(), CONFIG, NOW)
    # Then fbc comes from the URL, while the server's own IP, UA and cookies are not used
    assert enriched["user_data"] == {"fbc": "fb.1.1764100000000.AbC"}


@pytest.mark.parametrize("url", ["https://shop.example/?fbclid=", "https://shop.example/?fbclid=a%20b<c>"])
def test_unusable_fbclid_builds_nothing(url):
    enriched, _ = enrich_event({"event_source_url": url}, browser(cookies={}), CONFIG, NOW)
    assert "fbc" not in enriched["user_data"]


@pytest.mark.parametrize("source", ["system_generated", "app", "physical_store"])
def test_request_data_is_not_used_for_events_that_are_not_website(source):
    # Given a backend sending a non-website event through its own HTTP client
    event, _ = enrich_event({"action_source": source}, browser(), CONFIG, NOW)
    # Then its Referer, User-Agent, IP and cookies describe the backend, not the customer: unused
    assert event["user_data"] == {}
    assert "event_source_url" not in event


def test_request_without_headers_adds_nothing_it_does_not_have():
    request = IngestRequest(body=b"{}")
    event, _ = enrich_event({"user_data": {"em": "x"}}, request, CONFIG, NOW)
    assert event["user_data"] == {"em": "x"}
    assert "event_source_url" not in event
