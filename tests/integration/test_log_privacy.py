"""The logs' second line of defence: values under customer-data and credential keys are masked in
whatever the ingest and retry functions' loggers write, at any depth (relay_aws/log_privacy.py)."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from capi_relay.model import IngestRequest
from relay_aws import log_privacy
from tests.conftest import META_TOKEN
from tests.integration.conftest import SERVICE
from tests.integration.lambda_events import http_event, log_lines

CANARY = "canary-7f3a"
EMAIL = f"{CANARY}@example.com"


def leaky_record() -> dict:
    """Keys a careless log statement could pass, each holding a canary."""
    return {
        "user_data": {"em": EMAIL, "ph": "+1 202-555-0147"},
        "data": [{"event_name": "Lead", "user_data": {"fn": CANARY, "external_id": [CANARY]}}],
        "headers": {"Cookie": f"_fbp={CANARY}", "X-Api-Key": CANARY, "Authorization": f"Bearer {CANARY}"},
        "email": EMAIL,
        "body": json.dumps({"em": EMAIL}),
        "access_token": META_TOKEN,
        "nested": [[{"deeper": ({"zp": CANARY, "country": CANARY},)}]],
    }


def function_logger(handler):
    """The module-level `logger` of a loaded functions/*/app.py."""
    return sys.modules[handler.__module__].logger


def logged(out: str) -> list[dict]:
    return [line for line in log_lines(out) if line.get("message") in ("leak", {"email": "***"})]


@pytest.mark.parametrize("function", ["ingest_handler", "retry_handler"])
def test_values_under_user_data_and_credential_keys_are_masked_in_the_functions_logs(
    handlers, capsys, function
):
    # Given a function that served a request (its logger writes to this test's stdout)
    handlers.ingest(http_event())
    logger = function_logger(getattr(handlers, function))
    capsys.readouterr()
    # When a careless statement logs customer data and credentials, as extra keys and as the message
    logger.info("leak", event_ids=["e1"], count=1, **leaky_record())
    logger.info({"email": EMAIL})
    out = capsys.readouterr().out
    # Then none of the values is in the output, the keys and the harmless fields are
    assert CANARY not in out and "202-555-0147" not in out and META_TOKEN not in out
    [line, message] = logged(out)
    assert line["user_data"] == "***" and line["email"] == "***" and line["body"] == "***"
    assert line["data"][0]["user_data"] == "***" and line["data"][0]["event_name"] == "Lead"
    assert line["headers"] == {"Cookie": "***", "X-Api-Key": "***", "Authorization": "***"}
    assert line["nested"] == [[{"deeper": [{"zp": "***", "country": "***"}]}]]
    assert (line["event_ids"], line["count"], line["service"]) == (["e1"], 1, SERVICE)
    assert message["message"] == {"email": "***"}


def test_masking_holds_when_a_plain_logger_set_up_the_service_first(handlers, capsys, monkeypatch):
    # Given a process where another function's plain Logger configured the shared log handler
    formatter = logging.getLogger(SERVICE).handlers[0].formatter
    monkeypatch.setattr(formatter, "json_serializer", json.dumps)
    # When the ingest function starts in that process and a careless statement logs an email
    handlers.restart()
    handlers.ingest(http_event())
    function_logger(handlers.ingest_handler).info("leak", email=EMAIL)
    # Then it is masked all the same
    out = capsys.readouterr().out
    assert CANARY not in out and [line["email"] for line in logged(out)] == ["***"]


def test_a_normal_request_log_line_keeps_its_fields(handlers, capsys):
    # Given the masking formatter
    # When an event is relayed
    handlers.ingest(http_event())
    # Then the outcome line still says what happened (the fields allowed in logs are not masked)
    [line] = [entry for entry in log_lines(capsys.readouterr().out) if entry.get("message") == "relayed"]
    assert line["status"] == 200 and line["sent"] == 1 and line["count"] == 1
    assert "event_ids" not in line  # the caller's ids stay out of logs (issue 14, finding 5)
    assert line["request_id"] == "Zr7kWgYboAMEVxQ=" and line["level"] == "INFO"


def test_event_ids_are_never_logged_not_even_at_debug(handlers, capsys):
    # Given the function at DEBUG, the most an operator can turn on
    logger = function_logger(handlers.ingest_handler)
    logger.setLevel("DEBUG")
    try:
        # When it relays an event whose id the caller chose
        status, body = handlers.ingest(http_event())
    finally:
        logger.setLevel("INFO")  # the service's logger outlives this test's functions
    # Then the caller gets its id back, and no log line holds it (a caller's id can be an order number)
    assert status == 200 and body["event_ids"] == ["ord-10042-purchase"]
    assert "ord-10042-purchase" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("em", True),
        ("X-API-KEY", True),
        ("x_capi_signature", True),
        ("Set-Cookie", True),
        ("client_ip_address", True),
        ("field", False),  # a warning names the field, which is no value
        ("code", False),
        ("fbtrace_id", False),
        ("event_ids", False),
    ],
)
def test_keys_are_compared_without_case_or_dash_underscore_differences(key, masked):
    assert log_privacy.mask({key: "v"}) == {key: "***" if masked else "v"}


def test_absent_values_stay_absent_and_deep_structures_are_masked_whole():
    deep: dict = {"leaf": CANARY}
    for _ in range(log_privacy.MAX_DEPTH + 5):
        deep = {"next": deep}
    masked = json.dumps(log_privacy.mask({"em": None, "deep": deep}))
    assert json.loads(masked)["em"] is None and CANARY not in masked


def test_a_request_logged_whole_is_masked_by_its_field_names_not_dumped_as_a_list():
    # Given a careless statement that logs the whole request (a NamedTuple, so a tuple of its values)
    request = IngestRequest(
        body=json.dumps({"em": EMAIL}).encode(),
        headers={"cookie": f"_fbp={CANARY}", "origin": "https://shop.example"},
        cookies={"_fbp": CANARY},
        source_ip="203.0.113.77",
        query={"email": EMAIL},
        request_id="req-1",
    )
    # When it is written
    written = log_privacy.dumps({"message": "careless", "request": request})
    # Then every value under a sensitive name is masked, and the rest keeps its name
    assert CANARY not in written and "203.0.113.77" not in written
    line = json.loads(written)["request"]
    assert line["body"] == line["cookies"] == line["source_ip"] == line["query"] == "***"
    assert line["headers"] == {"cookie": "***", "origin": "https://shop.example"}
    assert line["request_id"] == "req-1"
