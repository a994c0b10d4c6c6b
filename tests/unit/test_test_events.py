"""The Test Events page's view of deliveries: match-key score, pairs, refusals, filters."""

from __future__ import annotations

import pytest

from local.test_events import match_score, parse_pixel_report, timeline

SHA = "a" * 64


def _delivery(
    seq: int, event_id: str | None, outcome: str = "received", attempt: int = 1, **event: object
) -> dict:
    return {
        "seq": seq,
        "at": 1000.0 + seq,
        "pixel_id": "1",
        "test_event_code": event.pop("code", None),
        "api_version": "v24.0",
        "fbtrace_id": f"T{seq}",
        "attempt": attempt,
        "outcome": outcome,
        "error": event.pop("error", None),
        "event": {"event_name": event.pop("name", "Purchase"), "event_id": event_id, **event},
    }


def _pixel(seq: int, event_id: str, name: str = "Purchase", pixel_id: str | None = "1") -> dict:
    report = parse_pixel_report({"event_name": name, "event_id": event_id, "pixel_id": pixel_id})
    return {**report, "seq": seq, "at": 1000.0 + seq}


def _labels(row: dict) -> list[str]:
    return [b["label"] for b in row["badges"]]


def test_score_weighs_email_over_user_agent_and_lists_missing_keys_weightiest_first() -> None:
    full = match_score(
        {k: SHA for k in ("em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country")}
        | {
            "external_id": "x",
            "client_ip_address": "1.2.3.4",
            "client_user_agent": "UA",
            "fbp": "p",
            "fbc": "c",
        }
    )
    email = match_score({"em": [SHA]})
    agent = match_score({"client_user_agent": "UA"})
    assert full["score"] == 10.0 and full["missing"] == []
    assert email["score"] > agent["score"] > 0
    assert email["missing"][:4] == ["ph", "external_id", "fbc", "fbp"]
    assert match_score(None) == {
        "score": 0.0,
        "grade": "poor",
        "keys": [],
        "missing": match_score({})["missing"],
    }
    assert match_score({"em": "", "ph": []})["keys"] == []


def test_pair_needs_same_name_id_and_pixel_and_a_received_server_event() -> None:
    view = timeline(
        [_delivery(1, "a"), _delivery(2, "b", "refused", error={"code": 100, "error_subcode": 2804019})],
        [_pixel(3, "a"), _pixel(4, "b"), _pixel(5, "a", name="Lead"), _pixel(6, "a", pixel_id="2")],
        {},
    )
    by_id = {r["id"]: r for r in view["events"]}
    assert "Deduplicated" in _labels(by_id["#1"]) and "Deduplicated" in _labels(by_id["#3"])
    assert "Deduplicated" not in _labels(by_id["#2"]) + _labels(by_id["#4"]) + _labels(by_id["#5"])
    assert "Deduplicated" not in _labels(by_id["#6"])  # another pixel
    assert "Refused: code 100/2804019" in _labels(by_id["#2"])


def test_deliveries_of_one_event_fold_into_one_row_with_its_attempts() -> None:
    error = {"http_status": 503, "code": 2, "message": "Service temporarily unavailable"}
    view = timeline([_delivery(1, "a", "failed", 1, error=error), _delivery(2, "a", "received", 2)], [], {})
    [row] = view["events"]
    assert (row["id"], row["status"], row["attempt"]) == ("#2", "received", 2)
    assert "Attempt 2" in _labels(row) and row["error"] is None


def test_an_event_still_failing_shows_as_not_delivered() -> None:
    error = {"http_status": 503, "code": 2, "message": "Service temporarily unavailable"}
    [row] = timeline([_delivery(1, "a", "failed", 1, error=error)], [], {})["events"]
    assert "Not delivered: HTTP 503" in _labels(row)


def test_events_without_event_id_are_never_folded_together() -> None:
    view = timeline([_delivery(1, None), _delivery(2, None)], [], {})
    assert [r["id"] for r in view["events"]] == ["#2", "#1"]


def test_ldu_and_test_code_badges_and_filters() -> None:
    deliveries = [
        _delivery(1, "a", code="T1", data_processing_options=["LDU"]),
        _delivery(2, "b", name="Lead", code="T2"),
    ]
    assert _labels(timeline(deliveries, [], {})["events"][1]) == ["Server", "LDU", "Test: T1"]
    only_lead = timeline(deliveries, [], {"event_name": "Lead"})
    only_t1 = timeline(deliveries, [], {"test_event_code": "T1"})
    assert [r["event_id"] for r in only_lead["events"]] == ["b"]
    assert [r["event_id"] for r in only_t1["events"]] == ["a"]
    assert only_t1["event_names"] == ["Lead", "Purchase"] and only_t1["test_event_codes"] == ["T1", "T2"]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ([], "object"),
        ({"event_name": 5}, "event_name"),
        ({"event_name": "A", "event_id": {"x": 1}}, "event_id"),
        ({"event_name": "A", "custom_data": "x"}, "custom_data"),
        ({"event_name": "A", "email": "a@b.c"}, "email"),
        ({"event_name": "A", "pixel_id": True}, "pixel_id"),
    ],
)
def test_pixel_report_refuses_what_it_cannot_show(body: object, names: str) -> None:
    with pytest.raises(ValueError, match=names):
        parse_pixel_report(body)


def test_pixel_report_strings_are_capped() -> None:
    report = parse_pixel_report({"event_name": "E" * 5000, "event_id": 42})
    assert len(report["event_name"]) == 500 and report["event_id"] == "42"
