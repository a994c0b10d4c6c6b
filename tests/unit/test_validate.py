"""validate_event: every rule of DESIGN.md §3, on an enriched and normalized event."""

from __future__ import annotations

import pytest

from capi_relay.hashing import sha256_hex
from capi_relay.validate import STANDARD_EVENTS, currencies, validate_event

NOW = 1_764_100_000
DAY = 86400
EM = sha256_hex("canary-7f3a@example.com")
UA = "Mozilla/5.0 (X11; Linux x86_64)"


def event(**changes: object) -> dict:
    """A website Purchase Meta would take; `changes` replace fields (None removes one)."""
    base = {
        "event_name": "Purchase",
        "event_time": NOW - 60,
        "event_id": "e-1",
        "action_source": "website",
        "event_source_url": "https://shop.example/checkout",
        "user_data": {"em": EM, "client_ip_address": "203.0.113.7", "client_user_agent": UA},
        "custom_data": {"value": 12.5, "currency": "USD"},
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def codes(found: list) -> list[tuple[str, str]]:
    return [(e.field, e.code) for e in found]


def test_valid_purchase_has_no_errors():
    # Given a complete website Purchase
    # When it is validated
    # Then nothing is wrong
    assert validate_event(event(), 0, NOW) == []


def test_errors_carry_the_event_index():
    # Given an event at position 7 without a name
    found = validate_event(event(event_name=None), 7, NOW)
    # Then its error names index 7
    assert [(e.index, e.code) for e in found] == [(7, "event_name_missing")]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        (None, "event_name_missing"),
        ("", "event_name_missing"),
        ("   ", "event_name_invalid"),
        (42, "event_name_invalid"),
        ("x" * 51, "event_name_too_long"),
    ],
)
def test_bad_event_name_is_refused(name, code):
    # Given an event name that is missing, blank, not text, or a custom name over 50 characters
    found = validate_event(event(event_name=name, custom_data=None), 0, NOW)
    # Then event_name is refused with its code
    assert codes(found) == [("event_name", code)]


def test_custom_event_name_of_50_characters_is_accepted():
    # Given a custom event with a 50-character name
    # Then it is valid
    assert validate_event(event(event_name="x" * 50, custom_data=None), 0, NOW) == []


@pytest.mark.parametrize(
    ("sent", "standard"),
    [("purchase", "Purchase"), ("PAGEVIEW", "PageView"), ("addToCart", "AddToCart"), (" Lead ", "Lead")],
)
def test_standard_name_in_the_wrong_case_says_which_name_to_use(sent, standard):
    # Given a standard event name written in the wrong case
    found = validate_event(event(event_name=sent), 0, NOW)
    # Then the error says which spelling Meta expects
    assert codes(found) == [("event_name", "event_name_case")]
    assert f'"{standard}"' in found[0].message


@pytest.mark.parametrize("name", STANDARD_EVENTS)
def test_every_standard_event_name_is_accepted(name):
    assert validate_event(event(event_name=name), 0, NOW) == []


@pytest.mark.parametrize(
    ("event_time", "source", "code"),
    [
        (NOW - 7 * DAY - 1, "website", "event_time_too_old"),
        (NOW - 62 * DAY - 1, "physical_store", "event_time_too_old"),
        (NOW + 1, "website", "event_time_future"),
        ("yesterday", "website", "event_time_invalid"),
        (True, "website", "event_time_invalid"),
        (None, "website", "event_time_invalid"),
        (1.5, "website", "event_time_invalid"),
    ],
)
def test_bad_event_time_is_refused(event_time, source, code):
    # Given an event_time out of Meta's window, in the future, missing or not an integer
    found = validate_event(event(event_time=event_time, action_source=source), 0, NOW)
    # Then event_time is refused
    assert codes(found) == [("event_time", code)]


@pytest.mark.parametrize(
    ("age_days", "source"), [(7, "website"), (8, "physical_store"), (62, "physical_store")]
)
def test_event_time_at_the_edge_of_the_window_is_accepted(age_days, source):
    # Given an event exactly at the edge of its window (physical_store reaches back 62 days)
    changes = {"event_time": NOW - age_days * DAY, "action_source": source}
    # Then it is valid
    assert validate_event(event(**changes), 0, NOW) == []


@pytest.mark.parametrize("source", ["Website", "web", "offline", 3])
def test_unknown_action_source_is_refused(source):
    found = validate_event(event(action_source=source), 0, NOW)
    assert codes(found) == [("action_source", "action_source_invalid")]


@pytest.mark.parametrize(
    "source",
    [
        "email",
        "website",
        "app",
        "phone_call",
        "chat",
        "physical_store",
        "system_generated",
        "business_messaging",
        "other",
    ],
)
def test_each_meta_action_source_is_accepted(source):
    assert validate_event(event(action_source=source), 0, NOW) == []


def test_website_event_without_url_or_user_agent_is_refused():
    # Given a website event with neither event_source_url nor client_user_agent
    found = validate_event(event(event_source_url=None, user_data={"em": EM}), 0, NOW)
    # Then both are named
    assert codes(found) == [
        ("event_source_url", "event_source_url_required"),
        ("user_data.client_user_agent", "client_user_agent_required"),
    ]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "shop.example/page", "ftp://shop.example/"])
def test_website_event_with_a_non_web_url_is_refused(url):
    found = validate_event(event(event_source_url=url), 0, NOW)
    assert codes(found) == [("event_source_url", "event_source_url_invalid")]


def test_non_website_event_needs_neither_url_nor_user_agent():
    # Given a system_generated event with only an email
    changes = {"action_source": "system_generated", "event_source_url": None, "user_data": {"em": EM}}
    # Then it is valid
    assert validate_event(event(**changes), 0, NOW) == []


@pytest.mark.parametrize(
    ("custom", "expected"),
    [
        (None, [("custom_data.value", "value_required"), ("custom_data.currency", "currency_required")]),
        ({"currency": "USD"}, [("custom_data.value", "value_required")]),
        ({"value": "12.50", "currency": "USD"}, [("custom_data.value", "value_invalid")]),
        ({"value": True, "currency": "USD"}, [("custom_data.value", "value_invalid")]),
        ({"value": 10}, [("custom_data.currency", "currency_required")]),
        ({"value": 10, "currency": "XYZ"}, [("custom_data.currency", "currency_invalid")]),
        ({"value": 10, "currency": "US"}, [("custom_data.currency", "currency_invalid")]),
        ({"value": 10, "currency": 840}, [("custom_data.currency", "currency_invalid")]),
        ({"value": 10, "currency": "XXX"}, [("custom_data.currency", "currency_invalid")]),
    ],
)
def test_purchase_needs_numeric_value_and_iso_4217_currency(custom, expected):
    found = validate_event(event(custom_data=custom), 0, NOW)
    assert codes(found) == expected


@pytest.mark.parametrize("currency", ["USD", "eur", "JPY", "BRL", "XOF", "ZWG"])
def test_iso_4217_currencies_are_accepted_in_any_case(currency):
    assert validate_event(event(custom_data={"value": 0, "currency": currency}), 0, NOW) == []


def test_currency_list_comes_from_the_data_file():
    # Given the shipped ISO 4217 list
    codes_ = currencies()
    # Then it holds the world's currencies and no test / no-currency codes
    assert {"USD", "EUR", "GBP", "INR", "CNY"} <= codes_
    assert len(codes_) > 150
    assert not {"XXX", "XTS"} & codes_


def test_money_fields_on_other_events_must_still_be_well_formed():
    # Given a Lead with a text value and an unknown currency (Meta would refuse them anywhere)
    found = validate_event(event(event_name="Lead", custom_data={"value": "ten", "currency": "ABC"}), 0, NOW)
    assert codes(found) == [
        ("custom_data.value", "value_invalid"),
        ("custom_data.currency", "currency_invalid"),
    ]
    # And a Lead without any money is fine
    assert validate_event(event(event_name="Lead", custom_data=None), 0, NOW) == []


@pytest.mark.parametrize(
    "user_data",
    [
        {},
        {"client_ip_address": "203.0.113.7"},
        {"client_user_agent": UA},
        {"em": ""},
        {"em": []},
        {"page_id": "123"},
    ],
)
def test_event_without_customer_information_is_refused(user_data):
    # Given user_data with nothing Meta can match on (IP and UA only count together)
    changes = {"action_source": "system_generated", "event_source_url": None, "user_data": user_data}
    found = validate_event(event(**changes), 0, NOW)
    # Then user_data is refused
    assert codes(found) == [("user_data", "customer_information_missing")]


@pytest.mark.parametrize(
    "user_data",
    [
        {"ph": "h"},
        {"external_id": ["x"]},
        {"fbp": "fb.1.1.1"},
        {"fbc": "fb.1.1.a"},
        {"madid": "m"},
        {"client_ip_address": "203.0.113.7", "client_user_agent": UA},
        {"lead_id": "1"},
        {"anon_id": "a"},
    ],
)
def test_any_customer_information_parameter_is_enough(user_data):
    changes = {"action_source": "system_generated", "event_source_url": None, "user_data": user_data}
    assert validate_event(event(**changes), 0, NOW) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("opt_out", "yes"),
        ("opt_out", 1),
        ("data_processing_options", "LDU"),
        ("data_processing_options", ["CCPA"]),
        ("data_processing_options", [1]),
        ("data_processing_options_country", 2),
        ("data_processing_options_country", True),
        ("data_processing_options_country", "1"),
        ("data_processing_options_state", 1),
        ("data_processing_options_state", 1000.0),
        ("event_id", 7),
    ],
)
def test_bad_privacy_and_id_fields_are_refused(field, value):
    found = validate_event(event(**{field: value}), 0, NOW)
    assert codes(found) == [(field, f"{field}_invalid")]


@pytest.mark.parametrize(
    "changes",
    [
        {"opt_out": True},
        {"opt_out": False},
        {"data_processing_options": []},
        {
            "data_processing_options": ["LDU"],
            "data_processing_options_country": 1,
            "data_processing_options_state": 1000,
        },
        {
            "data_processing_options": ["LDU"],
            "data_processing_options_country": 0,
            "data_processing_options_state": 0,
        },
    ],
)
def test_good_privacy_fields_are_accepted(changes):
    assert validate_event(event(**changes), 0, NOW) == []


def test_several_faults_are_all_reported_and_no_message_quotes_a_value():
    # Given an event with canary values in many wrong places
    canary = "canary-7f3a"
    bad = event(
        event_name=canary * 10,
        event_time=canary,
        action_source=canary,
        event_source_url=canary,
        custom_data={"value": canary, "currency": canary},
        opt_out=canary,
    )
    # When it is validated
    found = validate_event(bad, 3, NOW)
    # Then every fault is listed, and none of the messages repeats what was sent
    assert {e.code for e in found} == {
        "event_name_too_long",
        "event_time_invalid",
        "action_source_invalid",
        "value_invalid",
        "currency_invalid",
        "opt_out_invalid",
    }
    assert canary not in repr(found)
