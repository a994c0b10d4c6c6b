"""Raw customer data never leaves the ingest function's memory: canary values through every path."""

from __future__ import annotations

import copy
import json

from tests.integration.lambda_events import http_event

CANARY_USER_DATA = {
    "em": "Canary-7F3A@Example.com",
    "ph": "+1 202 555 0147",
    "fn": "Zyxcanary",
    "ln": "Qwcanarylast",
    "ct": "Canaryville",
    "db": "1983-07-14",
    "zp": "20001",
    "country": "US",
}
# raw values and the normalized forms that would be hashed: none may appear in plain text
CANARIES = (
    "canary-7f3a",
    "2025550147",
    "202 555 0147",
    "zyxcanary",
    "qwcanarylast",
    "canaryville",
    "19830714",
    "1983-07-14",
)


def canary_event(name: str = "Purchase", **changes) -> dict:
    event = {
        "event_name": name,
        "event_source_url": "https://shop.example/checkout/thank-you",
        "user_data": copy.deepcopy(CANARY_USER_DATA),
        "custom_data": {"currency": "USD", "value": 12.5},
    }
    event.update(changes)
    return event


def leaks(texts: list[str]) -> list[str]:
    return [canary for canary in CANARIES for text in texts if canary in text.lower()]


def test_canary_pii_is_in_no_log_queue_dlq_metric_response_or_meta_request(
    handlers, graph_sandbox, local_aws, capsys
):
    # Given the functions logging at DEBUG, and canary customer data sent down every path:
    handlers.restart(LOG_LEVEL="DEBUG")
    answers = []
    # sent
    answers.append(handlers.ingest(http_event(canary_event())))
    # queued (Meta 503), then retried and delivered
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    answers.append(handlers.ingest(http_event(canary_event())))
    queued = local_aws.messages("retry")
    handlers.retry(handlers.receive())
    # queued, then refused for good by Meta on retry → DLQ
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    answers.append(handlers.ingest(http_event(canary_event("Lead"))))
    queued += local_aws.messages("retry")
    graph_sandbox.add_fault({"kind": "reject", "event_name": "Lead"})
    handlers.retry(handlers.receive())
    # refused by Meta at ingest → DLQ
    answers.append(handlers.ingest(http_event({"data": [canary_event(), canary_event("Lead")]})))
    # invalid: a Purchase without currency, and an object where a value belongs
    answers.append(handlers.ingest(http_event(canary_event(custom_data={"value": "Canaryville"}))))
    answers.append(handlers.ingest(http_event(canary_event(user_data={"em": {"x": CANARY_USER_DATA["em"]}}))))
    # a broken event that fails inside the handler
    broken = http_event(canary_event())
    broken["headers"] = [CANARY_USER_DATA["em"]]
    answers.append(handlers.ingest(broken))
    # When everything the functions wrote or answered is collected
    out = capsys.readouterr()
    dead = local_aws.messages("dlq")
    meta_saw = [repr(row["event"]["user_data"]) for row in graph_sandbox.events()]
    # Then every path was really taken ...
    assert [status for status, _ in answers] == [200, 202, 202, 200, 400, 400, 503]
    assert len(queued) == 2 and len(dead) == 2 and len(graph_sandbox.events()) == 3
    assert (
        '"message":"relayed"' in out.out and '"message":"rejected"' in out.out and "EventsReceived" in out.out
    )
    # ... and no canary is anywhere: logs, EMF metrics, responses, queue and DLQ messages, nor Meta
    assert leaks([out.out, out.err]) == []
    assert leaks([repr(body) for _, body in answers]) == []
    assert leaks([m["Body"] for m in queued + dead]) == []
    assert leaks(meta_saw) == []


HIDDEN = (
    "zq9.udkey@example.com",
    "zq9.cdvalue@example.com",
    "zq9.cdkey@example.com",
    "7700 900461",
    "zq9.urlmail@example.com",
    "zq9.topkey@example.com",
    "zq9.topvalue@example.com",
)
EVENT_ID = "zq9evidmark-integration"


def hidden_event(name: str = "Purchase") -> dict:
    """A valid event with personal data where a careless integrator puts it (issue 14, finding 5)."""
    return canary_event(
        name,
        event_id=EVENT_ID,
        event_source_url="https://shop.example/thanks?email=zq9.urlmail%40example.com&utm_source=x",
        user_data={**copy.deepcopy(CANARY_USER_DATA), "zq9.udkey@example.com": "x"},
        custom_data={
            "currency": "USD",
            "value": 12.5,
            "note": "zq9.cdvalue@example.com",
            "zq9.cdkey@example.com": 1,
            "tags": ["+44 7700 900461"],
        },
        customer_email="zq9.topvalue@example.com",
        **{"zq9.topkey@example.com": 1},
    )


def test_personal_data_outside_user_data_reaches_no_log_queue_dlq_metric_answer_or_meta(
    handlers, graph_sandbox, local_aws, capsys
):
    # Given the functions logging at DEBUG, and the hidden canaries sent, queued, retried and dead-lettered
    handlers.restart(LOG_LEVEL="DEBUG")
    answers = [handlers.ingest(http_event(hidden_event()))]
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    answers.append(handlers.ingest(http_event(hidden_event("Lead"))))
    queued = local_aws.messages("retry")
    graph_sandbox.add_fault({"kind": "reject", "event_name": "Lead"})
    handlers.retry(handlers.receive())
    dead = local_aws.messages("dlq")
    out = capsys.readouterr()
    meta_saw = json.dumps(graph_sandbox.events())
    # Then every path was taken, and Meta got the event id it needs (positive controls) ...
    assert [status for status, _ in answers] == [200, 202] and len(queued) == 1 and len(dead) == 1
    assert EVENT_ID in meta_saw and "utm_source=x" in meta_saw
    # ... and no hidden canary is anywhere, nor the event id in the logs or metrics
    for text in (out.out, out.err, json.dumps(answers), meta_saw, *(m["Body"] for m in queued + dead)):
        assert [canary for canary in HIDDEN if canary in text.lower()] == []
    assert EVENT_ID not in out.out and EVENT_ID not in out.err
