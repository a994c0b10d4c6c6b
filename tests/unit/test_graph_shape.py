"""graph_shape: what Meta's clients send → the relay's own request; the relay's answer → Meta's shapes."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capi_relay import graph_shape
from capi_relay.errors import BadRequest, PayloadTooLarge, Unauthorized
from capi_relay.model import IngestRequest, RelayConfig

CONFIG = RelayConfig(pixel_ids=("1234567890",))
PATH = "/v24.0/1234567890/events"
FORM = "application/x-www-form-urlencoded"
EVENT = {"event_name": "Lead", "action_source": "system_generated", "user_data": {"external_id": "c-1"}}


def relayed(
    body: bytes | str, ctype: str = FORM, query: dict | None = None, **headers: str
) -> tuple[dict, dict]:
    raw = body.encode() if isinstance(body, str) else body
    request = IngestRequest(body=raw, headers={"content-type": ctype, **headers}, query=query or {})
    out = graph_shape.relay_request(request, PATH, CONFIG)
    return json.loads(out.body), dict(out.headers)


def test_python_sdk_shape_data_a_json_array_of_json_strings_token_in_the_query():
    data = json.dumps([json.dumps(EVENT), json.dumps(EVENT | {"event_name": "Purchase"})])
    body, headers = relayed(urlencode({"data": data}), query={"access_token": "k1", "appsecret_proof": "p"})
    assert [e["event_name"] for e in body["data"]] == ["Lead", "Purchase"]
    assert headers["x-api-key"] == "k1" and body["pixel_id"] == "1234567890"
    assert "appsecret_proof" not in body


def test_the_body_token_wins_over_the_query_and_the_indexed_fields_keep_their_order():
    form = {
        "data[1]": json.dumps(EVENT | {"event_id": "b"}),
        "data[0]": json.dumps(EVENT | {"event_id": "a"}),
    }
    body, headers = relayed(
        urlencode(form | {"access_token": "body-key"}), query={"access_token": "query-key"}
    )
    assert [e["event_id"] for e in body["data"]] == ["a", "b"] and headers["x-api-key"] == "body-key"


def test_authorization_bearer_and_oauth_are_tokens_too():
    for scheme in ("Bearer", "OAuth"):
        _, headers = relayed(json.dumps({"data": [EVENT]}), "application/json", authorization=f"{scheme} k2")
        assert headers["x-api-key"] == "k2"


def test_the_callers_ip_user_agent_and_cookies_are_not_passed_on_but_origin_and_consent_are():
    _, headers = relayed(
        urlencode({"data": json.dumps([EVENT])}),
        FORM,
        None,
        **{
            "user-agent": "python-requests",
            "cookie": "_fbp=x",
            "origin": "https://a.example",
            "sec-gpc": "1",
        },
    )
    assert headers == {"content-type": "application/json", "origin": "https://a.example", "sec-gpc": "1"}


@pytest.mark.parametrize(
    "token",
    ["EAAGm0PX4ZCpsBAKZCsZBZAWDfYMZCRDUfJ6PSrZBLUZCZAgZDZD", "123456789012345|AbCdEfGhIjKlMnOpQrStUvWxYz0"],
)
def test_meta_tokens_are_refused_with_words_that_do_not_repeat_them(token):
    with pytest.raises(Unauthorized) as raised:
        relayed(urlencode({"data": json.dumps([EVENT]), "access_token": token}))
    assert raised.value.errors[0].code == "meta_token_refused"
    assert token not in repr(raised.value.body()) and token not in str(raised.value)


def test_a_relay_key_that_merely_starts_with_eaa_is_not_mistaken_for_a_meta_token():
    _, headers = relayed(urlencode({"data": json.dumps([EVENT]), "access_token": "EAA-short"}))
    assert headers["x-api-key"] == "EAA-short"


def test_a_base_url_given_with_a_trailing_slash_still_reaches_the_pixel():
    request = IngestRequest(body=b"data=" + json.dumps([EVENT]).encode(), headers={"content-type": FORM})
    out = graph_shape.relay_request(request, "//v24.0/1234567890/events", CONFIG)
    assert json.loads(out.body)["pixel_id"] == "1234567890"


@pytest.mark.parametrize(
    ("path", "code"),
    [("/latest/1/events", "graph_path_invalid"), ("/v24.0/me/events", "pixel_not_allowed")],
)
def test_paths_meta_would_not_serve(path, code):
    request = IngestRequest(body=b"data=[]", headers={"content-type": FORM})
    with pytest.raises(BadRequest) as raised:
        graph_shape.relay_request(request, path, CONFIG)
    assert raised.value.errors[0].code == code


def test_answer_counts_queued_events_as_received_and_lists_warnings_as_messages():
    body = {
        "queued": 2,
        "event_ids": ["a", "b"],
        "warnings": [{"index": 0, "field": "user_data.ph", "code": "x"}],
    }
    status, answer = graph_shape.answer(202, body, "req-1")
    assert (status, answer) == (
        200,
        {"events_received": 2, "messages": ["data[0].user_data.ph: x"], "fbtrace_id": "req-1"},
    )


def test_answer_passes_on_metas_own_refusal_code():
    error = {"index": 0, "field": "event", "code": "meta_rejected", "message": "m", "graph_code": 100}
    error |= {"graph_subcode": 2804003, "fbtrace_id": "AmetaTrace"}
    status, answer = graph_shape.answer(400, {"errors": [error]}, "req-2")
    assert status == 400
    assert answer["error"]["code"] == 100 and answer["error"]["error_subcode"] == 2804003
    assert answer["error"]["fbtrace_id"] == "AmetaTrace"


FORM_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
BODIES = st.one_of(
    st.binary(max_size=300),
    FORM_TEXT.map(str.encode),
    st.dictionaries(
        st.sampled_from(["data", "data[0]", "access_token", "test_event_code", "x"]), FORM_TEXT
    ).map(lambda d: urlencode(d).encode()),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=30,
    ).map(lambda v: json.dumps({"data": v}).encode()),
)
CTYPES = st.sampled_from([FORM, "application/json", "multipart/form-data; boundary=x", "", "text/plain"])


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(body=BODIES, ctype=CTYPES)
def test_whatever_arrives_the_adapter_answers_a_relay_request_or_a_4xx(body, ctype):
    # hostile or careless: random bytes, forms, JSON of any shape, under any content type
    try:
        out = graph_shape.relay_request(
            IngestRequest(body=body, headers={"content-type": ctype}), PATH, CONFIG
        )
    except (BadRequest, PayloadTooLarge, Unauthorized) as error:  # the caller's fault, each a 4xx
        assert 400 <= error.status < 500 and error.errors
    else:
        assert isinstance(json.loads(out.body)["data"], list)
