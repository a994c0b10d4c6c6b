"""Property-based fuzzing of the running local stack from openapi.yaml (schemathesis + hypothesis).

Whatever a caller sends — bodies the spec allows and bodies it forbids — the relay answers with a
documented status and shape: never a 5xx, every 4xx the structured error of DESIGN.md §3, no answer
that repeats a customer value, and it keeps serving afterwards. Bounded by example count (FUZZ_EXAMPLES,
default 100 per mode) and derandomized, so `make test` is repeatable; FUZZ_RANDOM=1 explores anew.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
GATEWAY_STATUSES = {413, 429}  # API Gateway's own {"message": ...} answers are documented for these

SCHEMA = schemathesis.openapi.from_path(str(SPEC))
OPERATION = SCHEMA["/events"]["POST"]


def fuzz_settings() -> settings:
    return settings(
        max_examples=EXAMPLES,
        deadline=None,  # a timing assertion in disguise; the count bounds the run instead
        derandomize=not RANDOM,
        database=None,  # nothing written to .hypothesis/
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one stack for all examples is the point
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


def structured_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx from the relay is {"errors": [{index, field, code, message}, ...]}."""
    if not 400 <= response.status_code < 500:
        return None
    body = json.loads(response.content)
    if response.status_code in GATEWAY_STATUSES and set(body) == {"message"}:
        return None
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, f"{response.status_code} without errors: {body}"
    for error in errors:
        assert {"index", "field", "code", "message"} <= set(error), error
        assert error["index"] is None or isinstance(error["index"], int), error
        assert isinstance(error["field"], str) and isinstance(error["code"], str) and error["code"], error
    return True


def customer_values(body: Any) -> set[str]:
    """Distinctive strings the caller put in user_data (and nowhere else in the body)."""
    if not isinstance(body, dict):
        return set()
    batch = isinstance(body.get("data"), list)
    events = [e for e in (body["data"] if batch else [body]) if isinstance(e, dict)]
    found: set[str] = set()
    for event in events:
        user_data = event.get("user_data")
        for value in user_data.values() if isinstance(user_data, dict) else ():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and len(item.strip()) >= 8:
                    found.add(item)
    envelope = {k: v for k, v in body.items() if k != "data"} if batch else {}
    others = [{k: v for k, v in e.items() if k != "user_data"} for e in events]
    rest = json.dumps([envelope, others], default=str)
    return {value for value in found if value not in rest and json.dumps(value)[1:-1] not in rest}


def _without_codes_and_fields(text: str) -> str:
    """The answer with its `code` and `field` strings blanked: the relay's own words (codes, paths in
    which a caller's key is `*`), which a generated value may happen to spell (`unknown_field`)."""
    try:
        body = json.loads(text)
    except ValueError:
        return text

    def blank(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: "" if key in ("code", "field") and isinstance(item, str) else blank(item)
                for key, item in node.items()
            }
        return [blank(item) for item in node] if isinstance(node, list) else node

    return json.dumps(blank(body))


def no_echoed_values(ctx: Any, response: Any, case: Any) -> bool | None:
    """No answer repeats a user_data value, raw or JSON-escaped, outside the relay's own codes and paths."""
    text = response.content.decode("utf-8", "replace")
    said = _without_codes_and_fields(text)
    for value in customer_values(case.body):
        assert value not in said and json.dumps(value)[1:-1] not in said, "a user_data value came back"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    structured_errors,
    no_echoed_values,
]


def tame(case: Any) -> None:
    """Steer a generated case past the pixel and clock checks, so it reaches normalization and Meta.

    Left alone, most generated requests name a random pixel (403) or a random event_time (400).
    """
    if case.query:
        case.query = {k: v for k, v in case.query.items() if k != "pixel_id"}
    if not isinstance(case.body, dict):
        return
    case.body.pop("pixel_id", None)
    events = case.body["data"] if isinstance(case.body.get("data"), list) else [case.body]
    for event in events:
        if isinstance(event, dict):
            event["event_time"] = int(time.time())
            event.setdefault("event_source_url", "https://shop.example/fuzz")


def exercise(stack: Any, case: Any) -> None:
    response = case.call(base_url=stack.info["api"], session=stack.session("fuzz"), timeout=30)
    case.validate_response(response, checks=CHECKS)


@dataclass
class FakeResponse:
    status_code: int
    content: bytes


@dataclass
class FakeCase:
    body: Any


def test_error_checks_refuse_unstructured_4xx_and_echoed_values():
    # Given answers a broken relay could give
    bare = FakeResponse(400, b'{"message": "Bad Request"}')
    partial = FakeResponse(403, b'{"errors": [{"code": "x"}]}')
    echo = FakeResponse(400, b'{"errors": [{"message": "bad em zq9-fuzz-canary@example.com"}]}')
    case = FakeCase({"event_name": "Lead", "user_data": {"em": "zq9-fuzz-canary@example.com"}})
    # When the fuzz checks look at them
    # Then each is a failure, while API Gateway's own 429 passes
    for response in (bare, partial):
        with pytest.raises(AssertionError):
            structured_errors(None, response, case)
    with pytest.raises(AssertionError):
        no_echoed_values(None, echo, case)
    assert structured_errors(None, FakeResponse(429, b'{"message": "Too Many Requests"}'), case) is None
    # And a generated value that spells one of the relay's codes is not an echo; in a message it is
    spelled = FakeCase({"event_name": "Lead", "user_data": {"xx": ["unknown_field"]}})
    warning = b'{"index": 0, "field": "user_data.*", "code": "unknown_field"}'
    coded = FakeResponse(200, b'{"warnings": [' + warning + b"]}")
    assert no_echoed_values(None, coded, spelled) is True
    with pytest.raises(AssertionError):
        no_echoed_values(None, FakeResponse(400, b'{"errors": [{"message": "no unknown_field"}]}'), spelled)


@pytest.mark.parametrize(
    "mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE], ids=str
)
def test_generated_requests_never_get_a_5xx_or_an_undocumented_answer(local_stack, mode):
    # Given the running local stack and requests generated from openapi.yaml (valid, then invalid)
    @fuzz_settings()
    @given(case=OPERATION.as_strategy(generation_mode=mode), steer=st.booleans())
    def fuzz(case, steer):
        # When each is sent, half of them steered towards Meta
        if steer:
            tame(case)
        # Then the answer is documented, never a 5xx, every 4xx structured, no value echoed
        exercise(local_stack, case)

    fuzz()
    # And the relay still relays a valid event, and logged no traceback
    assert_still_serving(local_stack)


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
HOSTILE_BODIES = st.one_of(
    st.binary(max_size=512),
    st.text(max_size=512).map(str.encode),
    ANY_JSON.map(lambda value: json.dumps(value).encode()),
    st.integers(min_value=1, max_value=5000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(min_value=1, max_value=5000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
)
EVENT_FIELDS = [
    "event_name", "event_time", "event_id", "action_source", "event_source_url", "referrer_url", "user_data",
    "custom_data", "opt_out", "data_processing_options", "data_processing_options_country",
    "data_processing_options_state", "consent", "pixel_id", "test_event_code", "data",
]  # fmt: skip
USER_DATA_FIELDS = [
    "em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge", "external_id", "client_ip_address",
    "client_user_agent", "fbc", "fbp", "subscription_id", "fb_login_id", "lead_id", "madid", "page_id",
]  # fmt: skip


def good_event() -> dict:
    return {
        "event_name": "Purchase",
        "event_time": int(time.time()),
        "event_source_url": "https://shop.example/fuzz",
        "user_data": {"em": "fuzz@example.com", "ph": "+1 202 555 0100", "fbp": "fb.1.1700000000000.1"},
        "custom_data": {"value": 9.5, "currency": "EUR"},
    }


def misshapen(field: str, value: Any, in_user_data: bool, batched: bool) -> bytes:
    event = good_event()
    if in_user_data:
        event["user_data"][field] = value
    else:
        event[field] = value
    return json.dumps({"data": [good_event(), event]} if batched else event).encode()


MISSHAPEN_EVENTS = st.one_of(
    st.builds(misshapen, st.sampled_from(EVENT_FIELDS), ANY_JSON, st.just(False), st.booleans()),
    st.builds(misshapen, st.sampled_from(USER_DATA_FIELDS), ANY_JSON, st.just(True), st.booleans()),
)


def answers_without_a_5xx(stack, session, body: bytes, content_type: str = "application/json") -> None:
    """POST the body; the answer must be a 2xx or a structured 4xx, never a 5xx."""
    response = session.post(
        stack.info["events_url"], data=body, headers={"content-type": content_type}, timeout=30
    )
    assert response.status_code < 500, (response.text, body[:300])
    if response.status_code >= 400:
        structured_errors(None, response, None)


def test_arbitrary_bytes_never_get_a_5xx(local_stack):
    # Given the running local stack
    session = local_stack.session("bytes")

    @fuzz_settings()
    @given(body=HOSTILE_BODIES, content_type=st.sampled_from(["application/json", "text/plain"]))
    def fuzz(body, content_type):
        # When raw bytes, random JSON and deeply nested JSON are posted, as JSON or as sendBeacon's text
        # Then the answer is a 2xx or a structured 4xx, never a 5xx
        answers_without_a_5xx(local_stack, session, body, content_type)

    fuzz()
    assert_still_serving(local_stack)


def test_events_with_one_field_of_any_shape_never_get_a_5xx(local_stack):
    # Given the running local stack and a good event
    session = local_stack.session("misshapen")

    @fuzz_settings()
    @given(body=MISSHAPEN_EVENTS)
    def fuzz(body):
        # When one field (of the event or its user_data) holds any JSON value, alone or in a batch
        # Then the answer is a 2xx or a structured 4xx, never a 5xx
        answers_without_a_5xx(local_stack, session, body)

    fuzz()
    assert_still_serving(local_stack)


LONE_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)


def with_surrogate(field: str, surrogate: str, in_user_data: bool, batched: bool) -> bytes:
    """A good event (alone or beside another) with one lone surrogate in a value; ensure_ascii writes it
    as the escape "\\udXXX", valid UTF-8 JSON text that no UTF-8 encoder can send on."""
    return misshapen(field, "x" + surrogate, in_user_data, batched)


def with_huge_integer(field: str, digits: int, sign: int, batched: bool) -> bytes:
    event = good_event()
    event["custom_data"][field] = sign * 10**digits
    return json.dumps({"data": [good_event(), event]} if batched else event).encode()


ENCODING_ATTACKS = st.one_of(
    st.builds(with_surrogate, st.sampled_from(EVENT_FIELDS), LONE_SURROGATES, st.just(False), st.booleans()),
    st.builds(
        with_surrogate, st.sampled_from(USER_DATA_FIELDS), LONE_SURROGATES, st.just(True), st.booleans()
    ),
    st.builds(
        with_huge_integer,
        st.sampled_from(["value", "num_items", "predicted_ltv", "extra"]),
        st.integers(309, 4000),
        st.sampled_from([1, -1]),
        st.booleans(),
    ),
    st.builds(
        lambda encoding, batched: json.dumps({"data": [good_event()]} if batched else good_event()).encode(
            encoding
        ),
        st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32"]),
        st.booleans(),
    ),
)


def test_lone_surrogates_huge_integers_and_utf16_bodies_never_get_a_5xx(local_stack):
    # Given the running local stack
    session = local_stack.session("encoding")

    @fuzz_settings()
    @given(body=ENCODING_ATTACKS)
    def fuzz(body):
        # When an event carries a lone surrogate, an integer beyond a double's range, or is not UTF-8
        # Then the answer is a 2xx (the batch-mate went) or a structured 4xx that says why, never a 5xx
        answers_without_a_5xx(local_stack, session, body)

    fuzz()
    assert_still_serving(local_stack)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (json.dumps({**good_event(), "event_name": "Lead\ud800"}).encode(), "encoding_invalid", "body"),
        (b'{"event_name": "Lead", "user_data": {"\\udfff": 1}}', "encoding_invalid", "body"),
        (json.dumps(good_event()).encode("utf-16"), "encoding_invalid", "body"),
        (json.dumps(good_event()).encode("utf-16-le"), "encoding_invalid", "body"),
        (
            json.dumps(good_event()).replace('"value": 9.5', '"value": 1' + "0" * 400).encode(),
            "number_out_of_range",
            "custom_data.value",
        ),
    ],
    ids=["surrogate-in-a-value", "surrogate-as-a-key", "utf-16-bom", "utf-16-le", "huge-integer"],
)
def test_encoding_attacks_get_the_400_that_names_them(local_stack, body, code, field):
    # Given what the attacker of issue 14 sent (a 503 and an ingest-errors alarm then)
    # When it is posted
    response = local_stack.post_events(data=body, headers={"content-type": "application/json"})
    # Then it is a 400 naming the reason and the field
    assert response.status_code == 400, response.text
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [(code, field)]


def assert_still_serving(stack: Any) -> None:
    code = f"FUZZ{int(time.time() * 1000)}"
    event = {
        "event_name": "Lead",
        "event_time": int(time.time()),
        "action_source": "system_generated",
        "user_data": {"em": "still-serving@example.com"},
    }
    response = stack.post_events({"data": [event], "test_event_code": code})
    assert response.status_code == 200, response.text
    assert len(stack.graph_events(code)) == 1
    assert "Traceback" not in stack.log()
