"""client_ip_address and client_user_agent: sent in clear, but only when Meta can take them.

Meta refuses a whole event over a `client_ip_address` that is not an IP, so a bad one is dropped
with a warning (the conversion still goes), and a request's own source IP is used only when it is one.
"""

from __future__ import annotations

import pytest

from capi_relay.enrich import enrich_event
from capi_relay.model import IngestRequest, RelayConfig
from capi_relay.normalize import normalize_user_data

UA = "Mozilla/5.0 (X11; Linux x86_64)"
NOW = 1_764_100_000.0


def normalized(field: str, value: object) -> tuple[object, list[dict]]:
    out, warnings = normalize_user_data({field: value})
    return out.get(field), warnings


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7\n", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:0DB8:0000:0000:0000:0000:0000:0001"),
        ("::ffff:198.51.100.23", "::ffff:198.51.100.23"),  # IPv4-mapped IPv6, as given
        ("10.0.0.1", "10.0.0.1"),  # private: syntax only, Meta takes it
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
    ],
)
def test_any_syntactically_valid_ip_is_sent_as_given(given, sent):
    # Given a caller-sent IPv4 or IPv6 address, public or not
    # When normalized
    got, warnings = normalized("client_ip_address", given)
    # Then it goes to Meta trimmed, otherwise unchanged, without a warning
    assert (got, warnings) == (sent, [])


@pytest.mark.parametrize(
    "given",
    [
        "unknown",
        "203.0.113.7, 10.0.0.1",  # a whole X-Forwarded-For chain
        "203.0.113.7:443",
        "203.0.113",
        "256.1.1.1",
        "01.2.3.4",  # leading zeros: ambiguous (octal), refused
        "2001:db8::1::2",
        "fe80::1%eth0",  # a zone is free text, not an address
        "fe80::1%canary-7f3a@example.com",
        "[2001:db8::1]",
        "canary-7f3a@example.com",
        "1" * 46,
    ],
)
def test_ip_that_is_not_an_ip_is_dropped_with_a_warning_naming_the_field_only(given):
    # Given a client_ip_address Meta would refuse the event over
    out, warnings = normalize_user_data({"client_ip_address": given, "em": "a@b.co"})
    # When normalized: the IP is gone, the rest stays, the warning names field and code only
    assert "client_ip_address" not in out and "em" in out
    assert warnings == [{"field": "client_ip_address", "code": "client_ip_address_invalid"}]
    assert "canary" not in repr(warnings)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("client_ip_address", 3405803783, "type_invalid"),  # an integer is not Meta's text form
        ("client_ip_address", ["203.0.113.7"], "type_invalid"),
        ("client_ip_address", " \u200b ", "empty"),
        ("client_user_agent", 42, "type_invalid"),
        ("client_user_agent", ["Mozilla/5.0"], "type_invalid"),
        ("client_user_agent", " \t\u200b", "empty"),
    ],
)
def test_ip_or_user_agent_of_the_wrong_type_or_empty_is_dropped(field, value, code):
    # Given a connection field that is not a string, or nothing once trimmed
    got, warnings = normalized(field, value)
    # Then it is dropped with the generic code every field uses
    assert (got, warnings) == (None, [{"field": field, "code": code}])


def test_user_agent_is_sent_trimmed_and_otherwise_untouched():
    got, warnings = normalized("client_user_agent", f"  {UA}\n")
    assert (got, warnings) == (UA, [])


def browser(source_ip: str | None, **headers: str) -> IngestRequest:
    return IngestRequest(
        body=b"{}",
        headers={"user-agent": UA, **headers},
        cookies={},
        source_ip=source_ip,
        query={},
        request_id="r-1",
    )


@pytest.mark.parametrize("source_ip", ["", "   ", "unknown", "203.0.113.7:51234", "fe80::1%eth0"])
def test_request_source_ip_that_is_not_an_ip_is_not_used(source_ip):
    # Given a website event and a request whose source IP is not an address
    event, warnings = enrich_event({"event_name": "Lead"}, browser(source_ip), RelayConfig(), NOW)
    # When enriched: no client_ip_address is filled in (and no warning: the caller sent none)
    assert "client_ip_address" not in event["user_data"] and warnings == []
    # Then normalization has nothing to drop either
    assert normalize_user_data(event["user_data"])[1] == []


def test_valid_source_ip_is_used_trimmed():
    event, _ = enrich_event({"event_name": "Lead"}, browser(" 2001:db8::7 "), RelayConfig(), NOW)
    assert event["user_data"]["client_ip_address"] == "2001:db8::7"


@pytest.mark.parametrize("forwarded", ["unknown", "fe80::1%eth0, 10.0.0.1", "", "203.0.113.7:443"])
def test_forwarded_for_that_is_not_an_ip_falls_back_to_the_source_ip(forwarded):
    # Given a trusted proxy that forwards something that is not an address
    config = RelayConfig(trusted_proxy=True)
    request = browser("198.51.100.23", **{"x-forwarded-for": forwarded})
    # When enriched
    event, _ = enrich_event({"event_name": "Lead"}, request, config, NOW)
    # Then API Gateway's source IP is used instead
    assert event["user_data"]["client_ip_address"] == "198.51.100.23"


def test_forwarded_for_and_source_ip_both_invalid_leave_the_ip_out():
    config = RelayConfig(trusted_proxy=True)
    request = browser("not-an-ip", **{"x-forwarded-for": "garbage"})
    event, _ = enrich_event({"event_name": "Lead"}, request, config, NOW)
    assert "client_ip_address" not in event["user_data"]
