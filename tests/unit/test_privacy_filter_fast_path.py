"""The privacy filter's shortcuts give exactly what its full path gives (property tests).

filter_event skips the walk of custom_data when a scan finds no mark of an address or a phone number
(`_may_hold_contact`), and has_contact answers "no" early for a text without "@", "+" or "%". Both
are pinned here against the full path: the walk, and the mark test as it was written first.
"""

from __future__ import annotations

from urllib.parse import unquote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capi_relay import privacy_filter as F

# texts an attacker or a careless integrator puts in custom_data: addresses, "+" numbers, encodings
PIECES = st.sampled_from(
    ["jo@example.com", "+44 20 7946 0958", "%40", "%2B", "%2b", "%2540", "+", "@", "%", "SKU-1", " ", "a"]
)
TEXT = st.lists(PIECES | st.text(max_size=6), max_size=4).map("".join)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=14,
)
CUSTOM = st.dictionaries(st.sampled_from(["value", "currency", "content_ids", "order_id"]) | TEXT, JSON)


def _has_contact_as_first_written(text: str) -> bool:
    if not any(mark in text for mark in F._MARKS):
        return False
    if "%" in text:
        text = unquote(text)
    return bool(F._EMAIL.search(text) or F._PHONE.search(text))


def _deep(levels: int, leaf: object) -> object:
    for _ in range(levels):
        leaf = {"k": [leaf]}
    return leaf


@given(text=TEXT)
def test_has_contact_answers_as_the_full_mark_test(text):
    assert F.has_contact(text) is _has_contact_as_first_written(text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(custom=CUSTOM)
def test_a_container_the_scan_passes_is_one_the_walk_leaves_unchanged(custom):
    if not F._may_hold_contact(custom, 0):
        cleaned, removed = F._clean_container(custom, 0)
        assert removed == []
        assert cleaned == custom


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(custom=CUSTOM, url=TEXT)
def test_filter_event_gives_what_the_full_walk_gives(custom, url):
    event = {"event_name": "Purchase", "event_source_url": url, "custom_data": custom}
    got, warnings = F.filter_event(event)
    cleaned, removed = F._clean_container(custom, 0)
    assert got["custom_data"] == cleaned
    expected = [{"field": f"custom_data.{name}", "code": "pii_removed"} for name in sorted(set(removed))]
    assert [w for w in warnings if w["field"].startswith("custom_data")] == expected


def test_too_deep_a_container_still_goes_through_the_walk():
    custom = {"items": _deep(F.MAX_DEPTH + 2, "SKU-1")}
    assert F._may_hold_contact(custom, 0)
    got, warnings = F.filter_event({"event_name": "Purchase", "custom_data": custom})
    assert got["custom_data"] != custom  # the part past MAX_DEPTH is dropped whole
    assert warnings == [{"field": "custom_data.*", "code": "pii_removed"}]


def test_an_address_hidden_in_a_key_or_a_nested_list_is_still_removed():
    custom = {"content_ids": ["SKU-1", ["jo%40example.com"]], "jo@example.com": 1, "note": "+1 for gift wrap"}
    got, warnings = F.filter_event({"event_name": "Purchase", "custom_data": custom})
    assert got["custom_data"] == {"content_ids": ["SKU-1", []], "note": custom["note"]}
    assert {w["field"] for w in warnings} == {"custom_data.content_ids", "custom_data.*"}
