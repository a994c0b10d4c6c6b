"""The Graph sandbox answers like Meta, so what passes against it is worth something."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import requests

from local.graph_sandbox import GraphSandbox
from tests.conftest import API_VERSION, META_TOKEN, PIXEL_ID

# Only against a hang: a loaded CI machine (or `nice`) can stall this process for seconds, and an
# answer that comes late is still the right answer. A passing run takes as long as it did with 5 s.
HANG_GUARD_S = 30


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _event(**changes: object) -> dict:
    event = {
        "event_name": "Purchase",
        "event_time": int(time.time()),
        "event_id": "order-1",
        "action_source": "website",
        "event_source_url": "https://shop.example/checkout",
        "user_data": {"em": _sha("a@example.com"), "client_user_agent": "Mozilla/5.0"},
        "custom_data": {"value": 12.5, "currency": "EUR"},
    }
    event.update(changes)
    return event


def _post(sandbox: GraphSandbox, data: list, token: str = META_TOKEN, **extra: object) -> requests.Response:
    return requests.post(
        f"{sandbox.url}/{API_VERSION}/{PIXEL_ID}/events",
        json={"data": data, "access_token": token, **extra},
        timeout=HANG_GUARD_S,
    )


def test_valid_batch_is_recorded_with_pixel_and_test_code(graph_sandbox: GraphSandbox) -> None:
    # Given two valid events
    data = [_event(), _event(event_id="order-2", event_name="Lead")]
    # When they are posted with a test event code
    response = _post(graph_sandbox, data, test_event_code="TEST42")
    # Then Meta's success shape comes back and both events are recorded
    assert response.status_code == 200
    assert response.json()["events_received"] == 2
    assert response.json()["messages"] == []
    recorded = graph_sandbox.events()
    assert [r["event"]["event_id"] for r in recorded] == ["order-1", "order-2"]
    assert {(r["pixel_id"], r["test_event_code"]) for r in recorded} == {(PIXEL_ID, "TEST42")}


def test_form_encoded_body_is_accepted_like_the_sdk_sends(graph_sandbox: GraphSandbox) -> None:
    # Given the form encoding Meta's SDKs use: data as a JSON string
    form = {"data": json.dumps([_event()]), "access_token": META_TOKEN}
    # When it is posted
    response = requests.post(
        f"{graph_sandbox.url}/{API_VERSION}/{PIXEL_ID}/events", data=form, timeout=HANG_GUARD_S
    )
    # Then it is accepted
    assert response.status_code == 200
    assert len(graph_sandbox.events()) == 1


@pytest.mark.parametrize(
    ("event", "subcode"),
    [
        (_event(user_data={"em": "a@example.com", "client_user_agent": "UA"}), 2804022),
        (_event(event_time=int(time.time()) - 8 * 86400), 2804003),
        (_event(event_time=int(time.time()) + 86400), 2804004),
        (_event(custom_data={"value": 1}), 2804050),
        (_event(action_source="web"), 2804019),
        (_event(user_data={"email": _sha("a@example.com"), "client_user_agent": "UA"}), 2804019),
        (_event(user_data={"client_user_agent": "UA"}), 2804010),
    ],
    ids=[
        "unhashed-em",
        "too-old",
        "future",
        "purchase-no-currency",
        "bad-action-source",
        "unknown-user-data-key",
        "no-customer-info",
    ],
)
def test_one_invalid_event_rejects_the_whole_batch(
    graph_sandbox: GraphSandbox, event: dict, subcode: int
) -> None:
    # Given a valid event followed by one Meta would refuse
    # When both are posted together
    response = _post(graph_sandbox, [_event(), event])
    # Then the whole request fails with code 100 and the subcode, naming the index, and nothing is kept
    error = response.json()["error"]
    assert response.status_code == 400
    assert (error["code"], error["error_subcode"]) == (100, subcode)
    assert "event index 1" in error["error_user_msg"]
    assert "a@example.com" not in response.text
    assert graph_sandbox.events() == []


def test_more_than_1000_events_are_refused(graph_sandbox: GraphSandbox) -> None:
    # Given 1001 events
    # When they are posted at once
    response = _post(graph_sandbox, [_event(event_id=str(i)) for i in range(1001)])
    # Then Meta's limit applies
    assert response.status_code == 400
    assert response.json()["error"]["error_subcode"] == 2804024


def test_rotated_token_makes_the_old_one_expired_and_unknown_pixel_fails(graph_sandbox: GraphSandbox) -> None:
    # Given the token was rotated
    requests.post(f"{graph_sandbox.url}/_sandbox/token", json={"token": "new-token"}, timeout=HANG_GUARD_S)
    # When the old token, a wrong token, the new token and an unknown pixel are used
    old = _post(graph_sandbox, [_event()]).json()["error"]
    wrong = _post(graph_sandbox, [_event()], token="nonsense").json()["error"]
    new = _post(graph_sandbox, [_event()], token="new-token")
    unknown = requests.post(
        f"{graph_sandbox.url}/{API_VERSION}/999/events",
        json={"data": [_event()], "access_token": "new-token"},
        timeout=HANG_GUARD_S,
    ).json()["error"]
    # Then Graph's codes come back: 190/463 expired, 190 invalid, success, 100/33
    assert (old["code"], old.get("error_subcode")) == (190, 463)
    assert (wrong["code"], wrong.get("error_subcode")) == (190, None)
    assert new.status_code == 200
    assert (unknown["code"], unknown["error_subcode"]) == (100, 33)


def test_seeded_5xx_fault_repeats_the_same_sequence(graph_sandbox: GraphSandbox) -> None:
    # Given a 5xx fault at 50 % with a seed
    def run() -> list[int]:
        graph_sandbox.reset()
        graph_sandbox.add_fault({"kind": "5xx", "rate": 0.5, "seed": 7})
        return [_post(graph_sandbox, [_event()]).status_code for _ in range(12)]

    # When the same sequence of calls is made twice
    first, second = run(), run()
    # Then both runs fail on the same calls, with both outcomes present
    assert first == second
    assert set(first) == {200, 503}


def test_count_fault_fails_only_the_first_calls_with_transient_errors(graph_sandbox: GraphSandbox) -> None:
    # Given a rate-limit fault for the first two calls
    requests.post(
        f"{graph_sandbox.url}/_sandbox/faults",
        json={"kind": "rate_limit", "code": 17, "count": 2},
        timeout=HANG_GUARD_S,
    )
    # When three calls are made
    responses = [_post(graph_sandbox, [_event()]) for _ in range(3)]
    # Then two are throttled (code 17, transient) and the third goes through
    assert [r.status_code for r in responses] == [400, 400, 200]
    assert responses[0].json()["error"]["code"] == 17
    assert responses[0].json()["error"]["is_transient"] is True


def test_reject_fault_refuses_only_batches_holding_that_event_name(graph_sandbox: GraphSandbox) -> None:
    # Given Meta refuses Lead events
    graph_sandbox.add_fault({"kind": "reject", "event_name": "Lead"})
    # When a batch with a Lead and a batch without one are posted
    with_lead = _post(graph_sandbox, [_event(), _event(event_name="Lead", event_id="lead-1")])
    without = _post(graph_sandbox, [_event()])
    # Then the first fails permanently as a whole and the second is accepted
    assert with_lead.status_code == 400
    assert with_lead.json()["error"]["code"] == 100
    assert with_lead.json()["error"]["is_transient"] is False
    assert without.status_code == 200
    assert [r["event"]["event_name"] for r in graph_sandbox.events()] == ["Purchase"]


def test_timeout_fault_holds_the_request_past_the_client_read_timeout(graph_sandbox: GraphSandbox) -> None:
    # Given a timeout fault for one call
    graph_sandbox.add_fault({"kind": "timeout", "count": 1, "delay_s": 30})
    # When a client with a short read timeout posts
    # Then it times out, and the next call succeeds (clearing faults released the held request)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            f"{graph_sandbox.url}/{API_VERSION}/{PIXEL_ID}/events",
            json={"data": [_event()], "access_token": META_TOKEN},
            timeout=(2, 0.3),
        )
    graph_sandbox.clear_faults()
    assert _post(graph_sandbox, [_event()]).status_code == 200


def test_test_events_page_is_a_fixed_shell_and_its_json_lists_events(graph_sandbox: GraphSandbox) -> None:
    # Given an event whose name and id carry markup
    _post(graph_sandbox, [_event(event_name="<script>x</script>", event_id="<b>id</b>", custom_data=None)])
    # When the Test Events page and its JSON are fetched
    page = requests.get(graph_sandbox.url + "/", timeout=HANG_GUARD_S)
    data = requests.get(graph_sandbox.url + "/_sandbox/test-events", timeout=HANG_GUARD_S).json()
    # Then the page holds no event data (its script draws the JSON as text) and runs only its own script
    assert page.status_code == 200
    assert "<script>x" not in page.text and "id</b>" not in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    [row] = data["events"]
    assert (row["event_name"], row["event_id"], row["status"]) == (
        "<script>x</script>",
        "<b>id</b>",
        "received",
    )
    assert row["match"]["keys"] == ["em", "client_user_agent"]


def test_retries_of_one_event_id_are_counted_as_attempts(graph_sandbox: GraphSandbox) -> None:
    # Given Meta fails the first call with a 503
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    # When the same event is sent twice
    statuses = [_post(graph_sandbox, [_event()]).status_code for _ in range(2)]
    # Then Meta got it once, on attempt 2, and the page has one row holding both deliveries
    assert statuses == [503, 200]
    assert [r["attempt"] for r in graph_sandbox.events()] == [2]
    [row] = requests.get(graph_sandbox.url + "/_sandbox/test-events", timeout=HANG_GUARD_S).json()["events"]
    assert [(a["attempt"], a["outcome"]) for a in row["attempts"]] == [(1, "failed"), (2, "received")]
    assert {"kind": "retry", "label": "Attempt 2"}.items() <= next(
        b for b in row["badges"] if b["kind"] == "retry"
    ).items()


def test_pixel_report_is_checked_and_paired_with_the_server_event(graph_sandbox: GraphSandbox) -> None:
    # Given a server event, and Pixel reports: a matching one, and malformed ones
    _post(graph_sandbox, [_event()])
    url = graph_sandbox.url + "/_sandbox/pixel"
    good = requests.post(
        url, data=json.dumps({"pixel_id": PIXEL_ID, "event_name": "Purchase", "event_id": "order-1"})
    )
    bad = [
        requests.post(url, data=body, timeout=HANG_GUARD_S)
        for body in (
            "[1]",
            "{",
            json.dumps({"event_name": ""}),
            json.dumps({"event_name": "A", "token": "x"}),
        )
    ]
    # Then the bad ones get a 400 naming the problem, and the pair is marked deduplicated on both rows
    assert good.status_code == 200
    assert [r.status_code for r in bad] == [400] * 4
    assert "event_name" in bad[2].json()["error"] and "token" in bad[3].json()["error"]
    rows = requests.get(graph_sandbox.url + "/_sandbox/test-events", timeout=HANG_GUARD_S).json()["events"]
    assert sorted(r["source"] for r in rows) == ["browser", "server"]
    assert all(any(b["kind"] == "dedup" for b in r["badges"]) for r in rows)


def test_token_is_never_echoed_in_any_response(graph_sandbox: GraphSandbox) -> None:
    # Given calls that succeed and fail
    responses = [_post(graph_sandbox, [_event()]), _post(graph_sandbox, [_event(action_source="x")])]
    # When the events, requests and page are read
    views = [
        requests.get(graph_sandbox.url + path, timeout=HANG_GUARD_S).text
        for path in ("/", "/_sandbox/events", "/_sandbox/requests", "/_sandbox/test-events")
    ]
    # Then the token shows up nowhere
    assert all(META_TOKEN not in text for text in [r.text for r in responses] + views)
