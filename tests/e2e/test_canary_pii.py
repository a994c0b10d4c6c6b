"""Canary PII through every path of the running local stack; not one copy may leave the ingest's memory.

Recognizable customer data is sent so that it is relayed, queued and retried, dead-lettered (by the
retry function and by the ingest), refused by Meta, refused as invalid or too large, forbidden,
dropped as malformed and withheld by consent. Then every place data could leak to is searched —
the stack's log (Powertools JSON and EMF), everything the AWS API server holds (retry queue, DLQ,
metrics) while messages wait and at the end, CloudWatch metrics, every answer, and what reached the
Graph sandbox — in clear, normalized, JSON-escaped, URL-encoded and base64. Zero hits, while
positive controls show each place did hold the (hashed) events, so the search cannot pass vacuously.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import pytest

from tests.conftest import META_TOKEN
from tests.e2e.local_stack import LocalStackProcess, wait_for

CANARY = {
    "em": ["Zq9.Canary.Mail@Example.com", "zq9canary-bad@@example"],  # the second is dropped
    "ph": "+1 (202) 555-0199",
    "fn": "Zq9canaryfirst",
    "ln": "Zq9canarylast",
    "ct": "Zq9canaryville",
    "st": "Zq9canarystate",  # not a US state: dropped with st_invalid
    "db": "1987-06-05",
    "external_id": "zq9-canary-ext",
}
CONSENT_EMAIL = "zq9.consent.withheld@example.com"  # sent with ad_user_data denied: not even its hash
# Where a careless integrator puts personal data outside user_data (issue 14, finding 5): every event
# below carries each of these; none may reach a log, a queue, the DLQ, a metric, an answer or Meta.
HIDDEN = {
    "user_data_key": "zq9.udkey@example.com",  # an unknown user_data key named by an email
    "custom_value": "zq9.cdvalue@example.com",  # an email in a custom_data string
    "custom_key": "zq9.cdkey@example.com",  # a custom_data key that is an email
    "custom_phone": "+44 7700 900461",  # an international phone number in custom_data
    "url_email": "zq9.urlmail@example.com",  # in event_source_url's query string
    "url_phone": "+447700900462",  # in referrer_url's query string
    "top_key": "zq9.topkey@example.com",  # an unknown top-level key
    "top_value": "zq9.topvalue@example.com",  # the value of another unknown top-level key
    "consent_key": "zq9.consentkey@example.com",  # an unknown name in X-Capi-Consent
    "consent_value": "zq9.consentval@example.com",  # a value in X-Capi-Consent
}
# event_id: Meta needs it unchanged (deduplication), so the caller, the queue and Meta hold it; logs and
# metrics never do.
EVENT_ID_CANARY = "zq9evidmark"  # no "canary" in it: other e2e modules search the shared stack for that word
# Every form a leak could take: as sent, and as normalization would make it before hashing.
LEAK_FORMS = [
    "Zq9.Canary.Mail@Example.com",
    "zq9canary-bad@@example",
    "(202) 555-0199",
    "2025550199",
    "Zq9canaryfirst",
    "Zq9canarylast",
    "Zq9canaryville",
    "Zq9canarystate",
    "1987-06-05",
    "19870605",
    "zq9-canary-ext",
    CONSENT_EMAIL,
    *[value for value in HIDDEN.values() if "@" in value],
    "7700 900461",
    "7700900461",
    "7700900462",
]
UA = "Mozilla/5.0 (X11; Linux x86_64) pii-e2e"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def encodings(value: str) -> set[str]:
    """The text a leak of `value` would show: JSON-escaped, URL-encoded, or inside base64 at any offset."""
    forms = {
        value,
        value.lower(),
        json.dumps(value)[1:-1],
        quote(value),
        quote_plus(value),
        quote(value, safe=""),
    }
    raw = value.encode()
    for offset in range(3):  # base64 of a longer text holds one of these, whatever the canary's position
        piece = raw[offset:]
        encoded = base64.b64encode(piece[: len(piece) // 3 * 3]).decode()
        if len(encoded) >= 8:
            forms |= {encoded, encoded.replace("+", "-").replace("/", "_")}
    return forms


SEARCHED = sorted({form for value in LEAK_FORMS for form in encodings(value)})


def leaks(text: str) -> list[str]:
    """The leak forms found in text (case-insensitive for the readable ones, exact for base64)."""
    lowered = text.lower()
    return [form for form in SEARCHED if form in text or (form.lower() == form and form in lowered)]


def event(name: str = "Purchase", **changes: object) -> dict:
    body = {
        "event_name": name,
        "event_id": f"{EVENT_ID_CANARY}-{uuid.uuid4()}",
        "event_time": int(time.time()),
        "event_source_url": "https://shop.example/checkout?email="
        + quote(HIDDEN["url_email"], safe="")
        + "&utm_source=zq9",
        "referrer_url": "https://shop.example/cart?phone=" + quote(HIDDEN["url_phone"], safe="") + "#top",
        "user_data": {**json.loads(json.dumps(CANARY)), HIDDEN["user_data_key"]: "x"},
        "custom_data": {
            "value": 19.99,
            "currency": "EUR",
            "note": "write to " + HIDDEN["custom_value"],
            HIDDEN["custom_key"]: 1,
            "contents": [{"id": "sku-1", "quantity": 1, "gift_for": HIDDEN["custom_phone"]}],
        },
        "customer_email": HIDDEN["top_value"],
        HIDDEN["top_key"]: True,
    }
    body.update(changes)
    return body


@dataclass
class Run:
    """What one pass through every path left behind, for the tests below to search."""

    stack: LocalStackProcess
    answers: dict[str, object] = field(default_factory=dict)  # path → (status, headers, body)
    moto_snapshots: list[str] = field(default_factory=list)  # the AWS server's whole state, at moments
    retry_messages: list[str] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)

    def post(self, path: str, payload: object = None, *, data: bytes | None = None, **headers: str) -> int:
        headers = {"User-Agent": UA, **headers}
        response = self.stack.post_events(payload, data=data, headers=headers)
        self.answers[path] = (response.status_code, dict(response.headers), response.text)
        return response.status_code

    def moto_state(self) -> str:
        url = self.stack.info["aws_endpoint"] + "/moto-api/data.json"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        self.moto_snapshots.append(text)
        return text

    def fault(self, **spec: object) -> None:
        self.stack.sandbox("POST", "/_sandbox/faults", json=spec)

    def code(self, path: str) -> str:
        self.codes[path] = "PII" + uuid.uuid4().hex[:8].upper()
        return self.codes[path]

    def delivered(self, path: str) -> list[dict]:
        return self.stack.graph_events(self.codes[path])


def drive_every_path(run: Run) -> None:
    stack = run.stack
    # sent: one browser event (Referer, cookie) and a batch with one invalid event beside a good one
    assert (
        run.post(
            "sent", {**event(), "test_event_code": run.code("sent")}, Cookie="_fbp=fb.1.1700000000000.42"
        )
        == 200
    )
    mixed = [event(), event(event_time=int(time.time()) - 9 * 86400)]
    assert (
        run.post("sent-with-invalid", {"data": mixed, "test_event_code": run.code("sent-with-invalid")})
        == 200
    )

    # queued, then retried: Meta answers 5xx until the fault is lifted
    run.fault(kind="5xx", status=503)
    assert run.post("queued", {"data": [event()], "test_event_code": run.code("queued")}) == 202
    wait_for(lambda: stack.queue_counts("retry") >= 1, timeout=30, what="the retry message")
    snapshot = json.loads(run.moto_state())  # the message waits in the queue now (visible or in flight)
    run.retry_messages += [
        m["body"] for m in snapshot.get("sqs", {}).get("Message", []) if run.codes["queued"] in m["body"]
    ]
    stack.sandbox("DELETE", "/_sandbox/faults")
    wait_for(lambda: run.delivered("queued"), timeout=60, what="the retried event at Meta")

    # dead-lettered by the retry function: 5xx at first, then Meta refuses it for good
    run.fault(kind="5xx", status=503, count=1)
    run.fault(kind="reject", event_name="ZqRejectLater")
    assert (
        run.post(
            "retried-then-rejected", {"data": [event("ZqRejectLater")], "test_event_code": run.code("r")}
        )
        == 202
    )
    wait_for(lambda: any("ZqRejectLater" in m["Body"] for m in stack.dead_letters()), timeout=60, what="DLQ")

    # refused by Meta at once: dead-lettered by the ingest, the caller told by index
    stack.sandbox("DELETE", "/_sandbox/faults")
    run.fault(kind="reject", event_name="ZqRejectNow")
    assert (
        run.post("rejected", {"data": [event("ZqRejectNow")], "test_event_code": run.code("rejected")}) == 400
    )
    stack.sandbox("DELETE", "/_sandbox/faults")

    # invalid, too large, malformed: refused before anything is sent
    invalid = {
        "invalid-too-old": json.dumps(event(event_time=int(time.time()) - 30 * 86400)).encode(),
        "invalid-operator": json.dumps(
            event(user_data={"em": {"$ne": CANARY["em"][0]}, "fn": CANARY["fn"]})
        ).encode(),
        "invalid-too-long": json.dumps(event(user_data={**CANARY, "ln": CANARY["ln"] + "x" * 3000})).encode(),
        "invalid-too-many": json.dumps(event(user_data={**CANARY, "em": [CANARY["em"][0]] * 101})).encode(),
        "invalid-json": json.dumps(event())[:-25].encode(),
        "invalid-not-object": json.dumps([event()]).encode(),
        "invalid-deep": json.dumps(
            event(custom_data=json.loads('{"a":' * 20 + json.dumps(CANARY) + "}" * 20))
        ).encode(),
        "invalid-no-event-name": json.dumps(event(event_name="")).encode(),
        "too-large": json.dumps(
            event(custom_data={"value": 1, "currency": "EUR", "pad": "p" * 1_100_000})
        ).encode(),
    }
    for path, body in invalid.items():
        assert run.post(path, data=body, **{"Content-Type": "application/json"}) in (400, 413), path

    # forbidden: a page on another site
    assert run.post("forbidden-origin", event(), Origin="https://evil.example") == 403

    # personal data in the consent header: an unknown name, and a value where granted/denied belongs
    header_key = {"X-Capi-Consent": f"{HIDDEN['consent_key']}=denied"}
    assert run.post("consent-header-key", event(), **header_key) == 400
    header_value = {"X-Capi-Consent": f"ad_user_data={HIDDEN['consent_value']}"}
    assert run.post("consent-header-value", event(), **header_value) == 400

    # withheld by consent: the identifiers are dropped before hashing
    withheld = event(user_data={"em": CONSENT_EMAIL, "client_ip_address": "203.0.113.9"})
    withheld.update(consent={"ad_user_data": "denied"}, test_event_code=run.code("consent"))
    assert run.post("consent-denied", withheld) == 200

    wait_for(lambda: stack.queue_counts("retry") == 0, timeout=60, what="an empty retry queue")
    run.moto_state()


@pytest.fixture(scope="module")
def run(local_stack_server: LocalStackProcess) -> Iterator[Run]:
    """Every path driven once for the whole module; the stack left clean afterwards."""
    local_stack_server.reset(META_TOKEN)
    result = Run(local_stack_server)
    try:
        drive_every_path(result)
        yield result
    finally:
        local_stack_server.reset(META_TOKEN)


# --- the search itself -----------------------------------------------------------------------------


def test_leak_search_finds_every_form_a_leak_could_take():
    # Given a canary hidden in a log line, JSON-escaped, URL-encoded and inside base64
    for value in LEAK_FORMS:
        planted = [
            f'{{"msg": "x", "value": {json.dumps(value)}}}',
            f"GET /?q={quote_plus(value)} HTTP/1.1",
            base64.b64encode(b"prefix-" + value.encode() + b"-suffix").decode(),
            base64.b64encode(b"pre" + value.encode()).decode(),
            f"upper {value.upper()}",
        ]
        # When the search looks at each
        # Then it finds every one; and it finds nothing in text without canaries
        for text in planted:
            assert leaks(text), (value, text)
    assert leaks(json.dumps({"em": sha("zq9.canary.mail@example.com"), "event_id": str(uuid.uuid4())})) == []


# --- where a leak could hide --------------------------------------------------------------------------


def test_every_path_answered_as_documented(run):
    # Given every path driven
    statuses = {path: answer[0] for path, answer in run.answers.items()}
    # When the answers are read
    # Then each path was really taken (so the searches below look at real traffic)
    assert statuses["sent"] == 200 and statuses["queued"] == 202 and statuses["rejected"] == 400
    assert statuses["forbidden-origin"] == 403 and statuses["too-large"] == 413
    assert all(statuses[p] == 400 for p in statuses if p.startswith("invalid-"))


def test_no_answer_holds_a_canary(run):
    # Given every answer: status, headers and body
    # When each is searched
    found = {path: leaks(json.dumps(answer)) for path, answer in run.answers.items()}
    # Then none holds a canary or the token
    assert {path: hits for path, hits in found.items() if hits} == {}
    assert META_TOKEN not in json.dumps(run.answers)


def test_no_log_line_holds_a_canary_or_the_token(run):
    # Given the stack's whole log (Powertools JSON lines and EMF metrics), which did log every outcome
    log = run.stack.log()
    assert '"relayed"' in log and '"rejected"' in log
    # When it is searched
    # Then no canary, in any form, and not the token
    assert leaks(log) == []
    assert META_TOKEN not in log


def test_retry_messages_hold_hashes_only(run):
    # Given the retry message taken while Meta was down
    assert run.retry_messages
    text = "\n".join(run.retry_messages)
    # When it is searched
    # Then it holds the hashed email (a positive control) and no raw value, no token
    assert sha("zq9.canary.mail@example.com") in text
    assert leaks(text) == []
    assert META_TOKEN not in text


def test_dead_letters_hold_hashes_only(run):
    # Given the DLQ after one event refused at the ingest and one refused on retry
    letters = [m["Body"] for m in run.stack.dead_letters()]
    reasons = [json.loads(body)["dead_letter"]["reason"] for body in letters]
    assert len(letters) >= 2 and set(reasons) == {"meta_rejected"}
    text = "\n".join(letters)
    # When they are searched
    # Then they hold the hashed email and no raw value, no token
    assert sha("zq9.canary.mail@example.com") in text
    assert leaks(text) == []
    assert META_TOKEN not in text


def test_aws_state_holds_no_canary_while_events_wait_or_after(run):
    # Given everything the AWS API server held while the retry message waited, and at the end
    assert len(run.moto_snapshots) == 2
    assert sha("zq9.canary.mail@example.com") in run.moto_snapshots[0]  # the waiting message was there
    # When each snapshot is searched (queues, DLQ, metrics, secret)
    # Then no canary is in any
    for snapshot in run.moto_snapshots:
        assert leaks(snapshot) == []


def test_metrics_hold_no_canary(run):
    # Given the relay's metrics in CloudWatch (names, dimensions)
    cloudwatch = run.stack.client("cloudwatch")
    metrics = wait_for(
        lambda: cloudwatch.list_metrics(Namespace="CapiRelay")["Metrics"], timeout=10, what="metrics"
    )
    # When they are searched
    # Then they name counts and services, never a value
    assert leaks(json.dumps(metrics, default=str)) == []


def test_meta_gets_hashes_only_and_nothing_consent_withheld(run):
    # Given what the Graph sandbox received
    received = json.dumps(run.stack.sandbox("GET", "/_sandbox/events"))
    # When it is searched
    # Then the relayed events arrived hashed, no raw value arrived, and the withheld email not even hashed
    assert sha("zq9.canary.mail@example.com") in received
    assert sha("12025550199") in received
    assert leaks(received) == []
    assert sha(CONSENT_EMAIL) not in received
    [withheld] = run.delivered("consent")
    assert set(withheld["event"]["user_data"]) <= {"client_ip_address", "client_user_agent"}


def test_hidden_places_reached_the_relay_and_only_the_personal_part_was_removed(run):
    # Given what Meta received for the plain "sent" path, and the answer the caller got
    [sent] = run.delivered("sent")
    status, _, body = run.answers["sent"]
    assert status == 200
    warnings = {(w["field"], w["code"]) for w in json.loads(body)["warnings"]}
    # When the event's URL, custom_data and fields are read
    url, custom = sent["event"]["event_source_url"], sent["event"]["custom_data"]
    # Then the rest of each place arrived (so the searches looked at real traffic) ...
    assert url.startswith("https://shop.example/checkout?") and "utm_source=zq9" in url
    assert sent["event"]["referrer_url"] == "https://shop.example/cart#top"
    assert custom["value"] == 19.99 and custom["contents"] == [{"id": "sku-1", "quantity": 1}]
    assert "customer_email" not in sent["event"] and "note" not in custom
    # ... and the caller was told, by our field names and codes only
    assert {("event_source_url", "pii_removed"), ("referrer_url", "pii_removed")} <= warnings
    assert ("*", "unknown_field_dropped") in warnings and ("user_data.*", "unknown_field") in warnings
    assert ("custom_data.contents", "pii_removed") in warnings


def test_event_ids_reach_meta_and_the_caller_but_never_a_log_or_a_metric(run):
    # Given event ids built from a canary
    received = json.dumps(run.stack.sandbox("GET", "/_sandbox/events"))
    answered = json.dumps(run.answers["sent"])
    # When Meta's side, the answers, the log and the metrics are searched
    cloudwatch = run.stack.client("cloudwatch")
    metrics = json.dumps(cloudwatch.list_metrics(Namespace="CapiRelay")["Metrics"], default=str)
    # Then Meta and the caller have them (deduplication needs them unchanged), the log and metrics do not
    assert EVENT_ID_CANARY in received and EVENT_ID_CANARY in answered
    assert EVENT_ID_CANARY not in run.stack.log()
    assert EVENT_ID_CANARY not in metrics


def test_consent_header_canaries_are_refused_without_echo(run):
    # Given the two requests whose X-Capi-Consent carried personal data
    key_status, _, key_body = run.answers["consent-header-key"]
    value_status, _, value_body = run.answers["consent-header-value"]
    # Then each is a 400 naming the header (a placeholder for the unknown name), never the text sent
    assert key_status == value_status == 400
    assert [(e["field"], e["code"]) for e in json.loads(key_body)["errors"]] == [
        ("headers.x-capi-consent.*", "consent_unknown")
    ]
    assert [(e["field"], e["code"]) for e in json.loads(value_body)["errors"]] == [
        ("headers.x-capi-consent.ad_user_data", "consent_invalid")
    ]
    assert HIDDEN["consent_key"] not in key_body + value_body and HIDDEN["consent_value"] not in value_body
