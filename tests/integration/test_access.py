"""Safe on the open internet (issue 14): closed by default, a browser's capability for Origin-only callers,
no raw PII past the handler, unsigned inputs refused on signed requests, no 5xx for any body.

Every test goes through relay_request(), the production path, against the Graph sandbox over real HTTP.
"""

from __future__ import annotations

import json
import time

import pytest

from capi_relay import relay_request
from capi_relay.auth import sign
from capi_relay.errors import BadRequest, Forbidden, PayloadTooLarge, Unauthorized
from capi_relay.model import IngestRequest, RelayConfig

PIXEL_ID = "1234567890"
UA = "Mozilla/5.0 (X11; Linux x86_64)"
SHOP = "https://shop.example"
KEY = "k_live_access-key-77f1"
SECRET = "whsec_access-secret-" + "4" * 16
CLOSED = RelayConfig(pixel_ids=(PIXEL_ID,), allowed_origins=(SHOP,))  # nothing in the secret, not open
WITH_KEY = RelayConfig(pixel_ids=(PIXEL_ID,), allowed_origins=(SHOP,), api_keys=(KEY,), hmac_secret=SECRET)
EMAIL = "canary.access+7f3a@example.com"
PHONE = "+44 7700 900123"


def lead(**changes: object) -> dict:
    event: dict = {
        "event_name": "Lead",
        "event_source_url": SHOP + "/signup",
        "user_data": {"external_id": "cust-1"},
        "custom_data": {"plan": "pro"},
    }
    event.update(changes)
    return event


def send(payload: object, client, tokens, sink, config: RelayConfig, **headers: str):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    query = headers.pop("query", None) or {}
    request = IngestRequest(
        body=body,
        headers={"user-agent": UA, **{k.replace("_", "-"): v for k, v in headers.items()}},
        source_ip="198.51.100.23",
        query=query,  # type: ignore[arg-type]
    )
    return relay_request(
        request, config=config, client=client, credentials=tokens, sink=sink, now=time.time()
    )


def codes(error) -> list[tuple]:
    return [(e.index, e.field, e.code) for e in error.errors]


# --- finding 1: closed by default -------------------------------------------------------------------


def test_relay_with_no_keys_refuses_a_caller_without_credentials_or_origin(
    client, tokens, sink, graph_sandbox
):
    # Given a deployed relay whose secret holds no API key and that is not marked open
    # When a stranger's server posts an event with neither credentials nor an Origin
    with pytest.raises(Unauthorized) as refused:
        send(lead(), client, tokens, sink, CLOSED)
    # Then it is a 401 naming the credentials, and nothing reaches Meta
    assert refused.value.status == 401
    assert codes(refused.value) == [(None, "headers.x-api-key", "credentials_missing")]
    assert graph_sandbox.events() == []


def test_open_relay_flag_admits_callers_without_credentials(client, tokens, sink, graph_sandbox):
    # Given the operator set OpenRelay=true (a trial)
    config = RelayConfig(pixel_ids=(PIXEL_ID,), open_relay=True)
    # When a caller without credentials posts
    result = send(lead(), client, tokens, sink, config)
    # Then it is relayed
    assert result.status == 200 and len(graph_sandbox.events()) == 1


def test_closed_relay_without_keys_still_admits_an_allowed_origin(client, tokens, sink, graph_sandbox):
    # Given a closed relay and the shop's page
    # When a browser on the allowed origin posts
    result = send(lead(), client, tokens, sink, CLOSED, origin=SHOP)
    # Then it is relayed
    assert result.status == 200 and len(graph_sandbox.events()) == 1


def test_closed_relay_without_an_origin_list_refuses_every_origin(client, tokens, sink):
    # Given a closed relay with no origins configured
    config = RelayConfig(pixel_ids=(PIXEL_ID,))
    # When a page posts
    with pytest.raises(Forbidden) as refused:
        send(lead(), client, tokens, sink, config, origin="https://any.example")
    # Then it is a 403 on the Origin
    assert codes(refused.value) == [(None, "headers.origin", "origin_not_allowed")]


# --- finding 2: a browser's capability for Origin-only callers --------------------------------------


@pytest.mark.parametrize("source", ["physical_store", "system_generated", "email"])
def test_origin_only_caller_may_send_website_events_only(client, tokens, sink, graph_sandbox, source):
    # Given a forged but allowed Origin
    # When it claims an offline action source
    with pytest.raises(Forbidden) as refused:
        send(lead(action_source=source), client, tokens, sink, WITH_KEY, origin=SHOP)
    # Then 403 names the field, and nothing reaches Meta
    assert codes(refused.value) == [(0, "action_source", "action_source_not_allowed")]
    assert graph_sandbox.events() == []


def test_server_with_a_key_keeps_every_action_source(client, tokens, sink, graph_sandbox):
    event = lead(action_source="physical_store")
    result = send(event, client, tokens, sink, WITH_KEY, x_api_key=KEY)
    assert result.status == 200
    assert graph_sandbox.events()[0]["event"]["action_source"] == "physical_store"


def test_origin_only_caller_may_send_at_most_the_browser_batch_limit(client, tokens, sink, graph_sandbox):
    # Given the browser limit of 20 events a request
    config = RelayConfig(pixel_ids=(PIXEL_ID,), allowed_origins=(SHOP,), browser_max_events=20)
    batch = {"data": [lead(event_id=f"e{i}") for i in range(21)]}
    # When a page posts 21
    with pytest.raises(PayloadTooLarge) as refused:
        send(batch, client, tokens, sink, config, origin=SHOP)
    # Then 413 says how many a browser may send, and nothing reaches Meta
    assert codes(refused.value) == [(None, "data", "too_many_events")]
    assert "20" in refused.value.errors[0].message
    assert graph_sandbox.events() == []
    # And 20 pass; a server with a key may send the 21
    assert send({"data": batch["data"][:20]}, client, tokens, sink, config, origin=SHOP).status == 200
    keyed = RelayConfig(pixel_ids=(PIXEL_ID,), api_keys=(KEY,), browser_max_events=20)
    assert send(batch, client, tokens, sink, keyed, x_api_key=KEY).status == 200


def test_origin_only_caller_cannot_choose_the_client_ip(client, tokens, sink, graph_sandbox):
    # Given a page that claims another person's IP address
    event = lead(user_data={"external_id": "c", "client_ip_address": "203.0.113.99"})
    # When it posts from 198.51.100.23
    result = send(event, client, tokens, sink, CLOSED, origin=SHOP)
    # Then Meta gets the connection's address, and the caller a warning
    assert graph_sandbox.events()[0]["event"]["user_data"]["client_ip_address"] == "198.51.100.23"
    assert {"index": 0, "field": "user_data.client_ip_address", "code": "client_ip_address_ignored"} in (
        result.warnings
    )


def test_server_with_a_key_may_send_its_customers_ip(client, tokens, sink, graph_sandbox):
    event = lead(user_data={"external_id": "c", "client_ip_address": "203.0.113.99"})
    send(event, client, tokens, sink, WITH_KEY, x_api_key=KEY)
    assert graph_sandbox.events()[0]["event"]["user_data"]["client_ip_address"] == "203.0.113.99"


# --- finding 8: unsigned inputs on signed requests ---------------------------------------------------


def signed_headers(body: bytes) -> dict[str, str]:
    stamp = int(time.time())
    return {"x_capi_timestamp": str(stamp), "x_capi_signature": sign(SECRET, stamp, body)}


def test_signed_request_with_a_consent_header_is_refused(client, tokens, sink, graph_sandbox):
    # Given a signed body; an attacker in the middle adds a consent header the signature does not cover
    body = json.dumps(lead()).encode()
    headers = {**signed_headers(body), "x_capi_consent": "ad_user_data=granted"}
    # When it arrives
    with pytest.raises(BadRequest) as refused:
        send(body, client, tokens, sink, WITH_KEY, **headers)
    # Then it is refused, naming the header; consent belongs in the signed body
    assert codes(refused.value) == [(None, "headers.x-capi-consent", "unsigned_on_signed_request")]
    assert graph_sandbox.events() == []


def test_signed_request_with_a_pixel_in_the_query_is_refused(client, tokens, sink, graph_sandbox):
    body = json.dumps(lead()).encode()
    with pytest.raises(BadRequest) as refused:
        send(body, client, tokens, sink, WITH_KEY, query={"pixel_id": PIXEL_ID}, **signed_headers(body))
    assert codes(refused.value) == [(None, "query.pixel_id", "unsigned_on_signed_request")]
    assert graph_sandbox.events() == []


def test_signed_request_with_consent_in_the_body_is_relayed(client, tokens, sink, graph_sandbox):
    body = json.dumps({**lead(), "consent": {"ad_personalization": "denied"}}).encode()
    result = send(body, client, tokens, sink, WITH_KEY, **signed_headers(body))
    assert result.status == 200 and graph_sandbox.events()[0]["event"]["opt_out"] is True


# --- finding 5: no raw PII beyond the handler ------------------------------------------------------


def test_unknown_top_level_fields_are_dropped_with_a_warning_that_does_not_name_them(
    client, tokens, sink, graph_sandbox
):
    # Given an event carrying a field Meta does not define, named and filled with PII
    event = lead(**{EMAIL: "x", "customer_email": EMAIL})
    # When it is relayed
    result = send(event, client, tokens, sink, CLOSED, origin=SHOP)
    # Then Meta never sees either, and the warning names neither
    sent = graph_sandbox.events()[0]["event"]
    assert EMAIL not in json.dumps(sent) and "customer_email" not in sent
    assert [w for w in result.warnings if w["code"] == "unknown_field_dropped"] == [
        {"index": 0, "field": "*", "code": "unknown_field_dropped"}
    ]
    assert EMAIL not in json.dumps(result.body) and "customer_email" not in json.dumps(result.body)


@pytest.mark.parametrize(
    "custom_data",
    [
        {"note": f"call {PHONE} or write {EMAIL}"},
        {EMAIL: 1},
        {"contents": [{"id": "sku-1", "quantity": 1, "buyer": EMAIL}]},
        {"tags": ["vip", PHONE]},
    ],
    ids=["in-a-value", "as-a-key", "nested", "in-a-list"],
)
def test_emails_and_phones_in_custom_data_are_removed_before_meta_and_the_queue(
    client, tokens, sink, graph_sandbox, custom_data
):
    # Given PII where custom properties go
    # When the event is relayed, and again when Meta is down (queued)
    result = send(lead(custom_data=custom_data), client, tokens, sink, CLOSED, origin=SHOP)
    graph_sandbox.add_fault({"kind": "5xx", "count": 10})
    queued = send(lead(custom_data=custom_data), client, tokens, sink, CLOSED, origin=SHOP)
    # Then neither Meta nor the queue has it, and the caller is warned
    assert queued.status == 202
    for text in (json.dumps(graph_sandbox.events()), *sink.retries):
        assert EMAIL not in text and "7700 900123" not in text and "7700900123" not in text
    assert "pii_removed" in {w["code"] for w in result.warnings}
    assert EMAIL not in json.dumps(result.body)


@pytest.mark.parametrize(
    "url",
    [
        SHOP + "/thanks?email=" + EMAIL.replace("@", "%40").replace("+", "%2B") + "&utm_source=ig",
        SHOP + "/thanks?utm_source=ig&email=" + EMAIL.replace("+", "%2B"),
        SHOP + "/thanks?phone=%2B447700900123&utm_source=ig",
        SHOP + "/thanks?utm_source=ig#contact=" + EMAIL,
    ],
    ids=["percent-encoded", "raw", "phone", "fragment"],
)
def test_emails_and_phones_in_url_query_strings_are_removed(client, tokens, sink, graph_sandbox, url):
    # Given a thank-you page whose URL carries the buyer's email or phone
    # When the event names it, as event_source_url and as referrer_url
    result = send(lead(event_source_url=url, referrer_url=url), client, tokens, sink, CLOSED, origin=SHOP)
    # Then the parameter is gone, the rest of the URL is kept, and a warning says so
    sent = graph_sandbox.events()[0]["event"]
    for field in ("event_source_url", "referrer_url"):
        assert sent[field].startswith(SHOP + "/thanks")
        assert "utm_source=ig" in sent[field]
        assert "example.com" not in sent[field] and "7700900123" not in sent[field]
    assert {"index": 0, "field": "event_source_url", "code": "pii_removed"} in result.warnings


def test_referer_filled_url_is_cleaned_too(client, tokens, sink, graph_sandbox):
    event = lead()
    del event["event_source_url"]
    send(event, client, tokens, sink, CLOSED, origin=SHOP, referer=SHOP + "/t?em=" + EMAIL)
    assert EMAIL not in graph_sandbox.events()[0]["event"]["event_source_url"]


def test_unknown_key_names_are_never_echoed_in_warnings_or_errors(client, tokens, sink):
    # Given key names that are PII: in user_data, custom_data (too long a value) and consent
    event = lead(user_data={"external_id": "c", EMAIL: "x"}, custom_data={"ok": "y" * 5000})
    event["custom_data"][EMAIL] = "z" * 5000
    result = send({"data": [lead(user_data={"external_id": "c", EMAIL: "x"}), event]}, client, tokens, sink,
                  CLOSED, origin=SHOP)  # fmt: skip
    # Then no warning or error carries the name
    assert EMAIL not in json.dumps(result.body)
    assert {"index": 0, "field": "user_data.*", "code": "unknown_field"} in result.warnings
    with pytest.raises(BadRequest) as refused:
        send({**lead(), "consent": {EMAIL: "denied"}}, client, tokens, sink, CLOSED, origin=SHOP)
    assert EMAIL not in json.dumps(refused.value.body())
    assert codes(refused.value) == [(None, "consent.*", "consent_unknown")]


# --- finding 8: consent ad_user_data denied keeps IP and UA only --------------------------------------


def test_ad_user_data_denied_sends_only_ip_and_user_agent(client, tokens, sink, graph_sandbox):
    user_data = {"external_id": "c", "fbp": "fb.1.1764000000000.1234567890", "fbc": "fb.1.1764000000000.AbC"}
    consent = {"ad_user_data": "denied"}
    send({**lead(user_data=user_data), "consent": consent}, client, tokens, sink, CLOSED, origin=SHOP)
    assert set(graph_sandbox.events()[0]["event"]["user_data"]) == {"client_ip_address", "client_user_agent"}


# --- finding 6: no 5xx for any body ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"event_name": "Lead\\ud800", "user_data": {"external_id": "c"}}',
        b'{"event_name": "Lead", "user_data": {"external_id": "\\udfff"}}',
        b'{"event_name": "Lead", "custom_data": {"\\ud800": 1}, "user_data": {"external_id": "c"}}',
        b'{"data": [{"event_name": "Lead"}], "test_event_code": "\\ud83d"}',
    ],
    ids=["event-name", "user-data", "key", "request-field"],
)
def test_lone_surrogate_anywhere_is_a_400_encoding_invalid(client, tokens, sink, body):
    with pytest.raises(BadRequest) as refused:
        send(body, client, tokens, sink, CLOSED, origin=SHOP)
    assert [e.code for e in refused.value.errors] == ["encoding_invalid"]


def test_a_paired_surrogate_escape_is_an_ordinary_character(client, tokens, sink, graph_sandbox):
    body = json.dumps(lead(custom_data={"mood": "\U0001f600"})).encode()  # ensure_ascii: \\ud83d\\ude00
    assert b"\\ud83d" in body
    assert send(body, client, tokens, sink, CLOSED, origin=SHOP).status == 200


@pytest.mark.parametrize(
    "body",
    [
        "\ufeff".encode("utf-16-le") + json.dumps(lead()).encode("utf-16-le"),
        json.dumps(lead()).encode("utf-16"),
    ],
    ids=["utf-16-le-bom", "utf-16"],
)
def test_utf16_body_is_a_400(client, tokens, sink, body):
    with pytest.raises(BadRequest) as refused:
        send(body, client, tokens, sink, CLOSED, origin=SHOP)
    assert [e.code for e in refused.value.errors] == ["encoding_invalid"]


def test_utf8_bom_is_tolerated(client, tokens, sink, graph_sandbox):
    body = b"\xef\xbb\xbf" + json.dumps(lead()).encode()
    assert send(body, client, tokens, sink, CLOSED, origin=SHOP).status == 200


@pytest.mark.parametrize(("field", "path"), [("value", "value"), ("num_items", "num_items"), ("extra", "*")])
def test_integer_beyond_float_range_in_custom_data_is_a_400_naming_it(
    client, tokens, sink, graph_sandbox, field, path
):
    # a custom property's own name is the caller's: a placeholder stands for it (finding 5)
    body = json.dumps(lead()).encode().replace(b'"plan": "pro"', f'"{field}": 1{"0" * 400}'.encode())
    result_or_error = None
    with pytest.raises(BadRequest) as refused:
        result_or_error = send(body, client, tokens, sink, CLOSED, origin=SHOP)
    assert result_or_error is None
    assert codes(refused.value) == [(0, f"custom_data.{path}", "number_out_of_range")]
    assert graph_sandbox.events() == []


def test_huge_integer_only_costs_its_own_event_in_a_batch(client, tokens, sink, graph_sandbox):
    good = json.dumps(lead(event_id="good"))
    bad = json.dumps(lead(event_id="bad")).replace('"plan": "pro"', '"value": 9' + "9" * 400)
    result = send(f'{{"data": [{bad}, {good}]}}'.encode(), client, tokens, sink, CLOSED, origin=SHOP)
    assert result.status == 200 and result.event_ids == ["good"]
    assert [(e["index"], e["code"]) for e in result.body["errors"]] == [(0, "number_out_of_range")]


def test_a_url_whose_path_or_user_info_names_a_person_keeps_only_its_host(
    client, tokens, sink, graph_sandbox
):
    # Given a server (full capability, no URL check) naming URLs with an email in the path and user info
    event = lead(
        event_source_url=f"https://shop.example/account/{EMAIL}/orders",
        referrer_url=f"https://{EMAIL}@shop.example/login",
    )
    # When it is relayed
    send(event, client, tokens, sink, WITH_KEY, x_api_key=KEY)
    # Then Meta gets the site, not the person
    sent = graph_sandbox.events()[0]["event"]
    assert sent["event_source_url"] == "https://shop.example/"
    assert sent["referrer_url"] == "https://shop.example/"
