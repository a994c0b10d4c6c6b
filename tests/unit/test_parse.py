"""parse_body: JSON, limits and shapes, before anything reads a value (DESIGN.md §3)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capi_relay.errors import BadRequest, PayloadTooLarge
from capi_relay.model import RelayConfig
from capi_relay.parse import _check_limits, _within_limits, parse_body

CONFIG = RelayConfig(pixel_ids=("1234",))
CANARY = "canary-7f3a@example.com"


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def event(**fields: object) -> dict:
    return {"event_name": "Lead", "user_data": {"em": CANARY}, **fields}


def only_error(raised: BadRequest) -> tuple:
    assert len(raised.errors) == 1
    error = raised.errors[0]
    return error.index, error.field, error.code


def test_single_event_is_one_event_without_options():
    # Given one event object
    # When it is parsed
    parsed = parse_body(body(event()), CONFIG)
    # Then it is the only event, with no request-wide options
    assert parsed.events == [event()]
    assert parsed.errors == []
    assert (parsed.test_event_code, parsed.pixel_id, parsed.consent) == (None, None, None)


def test_batch_with_options_yields_events_and_options_apart():
    # Given a batch with a test code, a pixel and consent
    payload = {"data": [event(), event()], "test_event_code": "TEST123", "pixel_id": "1234", "consent": {}}
    # When it is parsed
    parsed = parse_body(body(payload), CONFIG)
    # Then the events come out in order and the options are not part of any event
    assert parsed.events == [event(), event()]
    assert (parsed.test_event_code, parsed.pixel_id, parsed.consent) == ("TEST123", "1234", {})


def test_options_on_a_single_event_are_taken_off_the_event():
    # Given a single event carrying test_event_code and pixel_id at its top level
    parsed = parse_body(body(event(test_event_code="T1", pixel_id=1234)), CONFIG)
    # Then they are request options, not event fields Meta would refuse
    assert parsed.events == [event()]
    assert (parsed.test_event_code, parsed.pixel_id) == ("T1", 1234)


def test_meta_request_parameters_are_taken_off_the_event_and_null_means_absent():
    # Given a single event with Meta's request-level parameters beside its fields, one of them null
    parsed = parse_body(body(event(partner_agent="woo-1", upload_tag="t", namespace_id=None)), CONFIG)
    # Then none of them is left on the event; the null one is simply absent
    assert parsed.events == [event()]
    assert parsed.options == {"partner_agent": "woo-1", "upload_tag": "t"}


@pytest.mark.parametrize("value", [7, "", True, ["x"], {"x": 1}, "x" * 2049])
def test_a_meta_request_parameter_that_is_not_a_short_string_is_a_400_naming_it(value):
    with pytest.raises(BadRequest) as raised:
        parse_body(body({"data": [event()], "upload_source": value}), CONFIG)
    assert only_error(raised.value) == (None, "upload_source", "upload_source_invalid")
    assert CANARY not in str(raised.value.body())


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "body_empty"),
        (b"   ", "body_empty"),
        (b"{not json", "invalid_json"),
        (b"\xff\xfe\x00garbage", "encoding_invalid"),
        (b'{"event_name": NaN}', "invalid_json"),
        (b'{"custom_data": {"value": 1e999}}', "invalid_json"),
        (b"[1, 2]", "body_not_object"),
        (b'"Purchase"', "body_not_object"),
        (b'{"data": {}}', "data_not_list"),
        (b'{"data": []}', "data_empty"),
        (b'{"data": [{}], "test_event_code": 5}', "test_event_code_invalid"),
        (b'{"data": [{}], "pixel_id": {"a": 1}}', "pixel_id_invalid"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_malformed_body_is_a_400_naming_the_fault(raw, code):
    # Given a body that is not a usable request
    # When it is parsed
    with pytest.raises(BadRequest) as raised:
        parse_body(raw, CONFIG)
    # Then it is a plain 400 (not a 413) for the whole request, with a stable code
    assert raised.value.status == 400
    assert only_error(raised.value)[0] is None
    assert only_error(raised.value)[2] == code


def test_body_over_one_megabyte_is_a_413():
    # Given a body one byte over 1 MB
    raw = body(event())
    raw = raw + b" " * (1_000_001 - len(raw))
    # When it is parsed
    with pytest.raises(PayloadTooLarge) as raised:
        parse_body(raw, CONFIG)
    # Then it is a 413 naming the body
    assert raised.value.status == 413
    assert only_error(raised.value) == (None, "body", "body_too_large")


def test_exactly_one_megabyte_is_accepted():
    # Given a body of exactly 1 000 000 bytes
    raw = body(event())
    raw = raw + b" " * (1_000_000 - len(raw))
    # When it is parsed
    parsed = parse_body(raw, CONFIG)
    # Then its event is there
    assert len(parsed.events) == 1


def test_more_than_1000_events_is_a_413_and_1000_is_fine():
    # Given 1001 events, and 1000 events
    # When each is parsed
    with pytest.raises(PayloadTooLarge) as raised:
        parse_body(body({"data": [{}] * 1001}), CONFIG)
    parsed = parse_body(body({"data": [{}] * 1000}), CONFIG)
    # Then the first is a 413 naming data, the second passes the limit
    assert only_error(raised.value) == (None, "data", "too_many_events")
    assert len(parsed.events) == 1000


@pytest.mark.parametrize(
    ("bad", "field", "code"),
    [
        ("not an event", "", "event_not_object"),
        ({"user_data": ["em"]}, "user_data", "user_data_not_object"),
        ({"user_data": "x"}, "user_data", "user_data_not_object"),
        ({"custom_data": [1]}, "custom_data", "custom_data_not_object"),
        ({"user_data": {"em": {"$ne": 1}}}, "user_data.em", "user_data_value_invalid"),
        ({"user_data": {"em": [CANARY, {"$gt": ""}]}}, "user_data.em", "user_data_value_invalid"),
        ({"user_data": {"ph": [["1"]]}}, "user_data.ph", "user_data_value_invalid"),
        ({"user_data": {"em": ["a@b.co"] * 101}}, "user_data.em", "too_many_values"),
        ({"user_data": {"fn": "x" * 2049}}, "user_data.fn", "string_too_long"),
        ({"custom_data": {"contents": [{"id": "x" * 2049}]}}, "custom_data.contents.0.id", "string_too_long"),
        ({"event_source_url": "https://a.example/" + "x" * 8200}, "event_source_url", "string_too_long"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.islower() and " " not in v else None,
)
def test_bad_event_shape_is_an_error_for_that_event_only(bad, field, code):
    # Given a batch whose second event has a bad shape or breaks a limit
    # When it is parsed
    parsed = parse_body(body({"data": [event(), bad]}), CONFIG)
    # Then only that event has an error, naming the field and a code, and never quoting the value
    assert [(e.index, e.field, e.code) for e in parsed.errors] == [(1, field, code)]
    assert CANARY not in repr(parsed.errors)
    assert "xxxx" not in repr(parsed.errors)


def test_limits_at_their_edge_are_accepted():
    # Given 100 values for a key, a 2048-character string and an 8192-character URL
    url = "https://a.example/?" + "q" * (8192 - 19)
    edge = event(
        user_data={"em": ["a@b.co"] * 100, "fn": "x" * 2048}, event_source_url=url, custom_data={"n": None}
    )
    # When it is parsed
    parsed = parse_body(body({"data": [edge]}), CONFIG)
    # Then nothing is refused
    assert parsed.errors == []


def test_nesting_deeper_than_16_levels_is_refused_and_16_is_fine():
    # Given custom_data nested to exactly 16 levels in all, and one level more
    def nested(levels: int) -> dict:
        value: object = "leaf"
        for _ in range(levels):
            value = {"k": value}
        return value  # type: ignore[return-value]

    ok = {"event_name": "Lead", "custom_data": nested(15)}  # event (1) + 15 = 16
    deep = {"event_name": "Lead", "custom_data": nested(16)}
    # When each is sent as a single event
    fine = parse_body(body(ok), CONFIG)
    too_deep = parse_body(body(deep), CONFIG)
    # Then only the deeper one is refused, by its path
    assert fine.errors == []
    assert [(e.index, e.code) for e in too_deep.errors] == [(0, "nesting_too_deep")]
    # (a custom property's own name is the caller's: never echoed, a placeholder stands for it)
    assert too_deep.errors[0].field.startswith("custom_data.*")


def test_nesting_counts_the_batch_wrapper():
    # Given the same 16-level event inside {"data": [...]} (two more levels)
    value: object = "leaf"
    for _ in range(15):
        value = {"k": value}
    # When it is parsed
    parsed = parse_body(body({"data": [{"event_name": "Lead", "custom_data": value}]}), CONFIG)
    # Then the whole body is deeper than 16 and the event is refused
    assert [e.code for e in parsed.errors] == ["nesting_too_deep"]


def test_hostile_nesting_is_a_400_not_a_crash():
    # Given 100 000 nested lists, deeper than the JSON parser's recursion limit
    raw = b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    # When it is parsed
    with pytest.raises(BadRequest) as raised:
        parse_body(raw, CONFIG)
    # Then it is a 400 about nesting
    assert only_error(raised.value)[2] == "nesting_too_deep"


def test_null_user_data_values_and_bools_are_left_for_normalization():
    # Given user_data values that are null or boolean (normalization drops them with a warning)
    parsed = parse_body(body(event(user_data={"em": None, "ge": True, "ph": [1, "2"]})), CONFIG)
    # Then the shape check lets them through
    assert parsed.errors == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=7), inner, max_size=3),
    max_leaves=12,
)
SMALL = RelayConfig(max_depth=3, max_string=5, max_url=7)


@settings(max_examples=300, deadline=None)
@given(event=st.dictionaries(st.sampled_from(["event_source_url", "custom_data", "k", "long-key"]), JSON))
def test_fast_limit_check_agrees_with_the_one_that_finds_the_path(event):
    # Given any small JSON event and tight limits
    # When both limit checks look at it (the fast one runs first; the other only names the path)
    fast_ok = _within_limits(event, SMALL, 0)
    found = _check_limits(event, 0, SMALL, 0)
    # Then they agree on whether it is within the limits
    assert fast_ok == (found is None)
