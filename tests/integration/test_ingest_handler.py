"""POST /events through the real ingest handler: sent 200, queued 202, refused 4xx, unavailable 503."""

from __future__ import annotations

import json

import pytest

from capi_relay.hashing import sha256_hex
from tests.conftest import PIXEL_ID
from tests.integration.lambda_events import emitted_metrics, http_event, log_lines, sample

JANE_EM = sha256_hex("jane.doe@example.com")


def sent_events(sandbox) -> list[dict]:
    return [row["event"] for row in sandbox.events()]


def test_valid_event_is_sent_to_meta_hashed_and_answered_200(handlers, graph_sandbox, local_aws):
    # Given the sample purchase with raw customer data
    event = http_event()
    # When the ingest function handles it
    status, body = handlers.ingest(event)
    # Then Meta has it, hashed, and the caller learns the event id; nothing waits in a queue
    assert status == 200
    assert body["events_received"] == 1 and body["event_ids"] == ["ord-10042-purchase"]
    [sent] = sent_events(graph_sandbox)
    assert sent["user_data"]["em"] == JANE_EM
    assert sent["user_data"]["client_ip_address"] == "203.0.113.7"
    assert local_aws.messages("retry") == [] and local_aws.messages("dlq") == []


def test_meta_5xx_queues_the_hashed_events_and_answers_202(handlers, graph_sandbox, local_aws):
    # Given Meta answers the next call with a 503
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    # When a batch of three events arrives
    status, body = handlers.ingest(http_event(sample_name="batch.json"))
    # Then the caller gets 202 and one retry message holds the three events, hashed, ready to send
    assert status == 202
    assert body["queued"] == 3 and len(body["event_ids"]) == 3
    [message] = local_aws.messages("retry")
    queued = message["json"]
    assert queued["pixel_id"] == PIXEL_ID and queued["test_event_code"] == "TEST123"
    assert [e["event_id"] for e in queued["data"]] == body["event_ids"]
    assert {e["user_data"]["em"] for e in queued["data"]} == {JANE_EM}
    assert queued["last_error"]["error_class"] == "transient" and queued["last_error"]["status"] == 503
    assert "jane" not in message["Body"].lower()
    assert sent_events(graph_sandbox) == []


def test_meta_timeout_queues_the_event_and_answers_202(handlers, graph_sandbox, local_aws):
    # Given Meta holds the next request longer than the client's read timeout (META_TIMEOUT_S=1)
    graph_sandbox.add_fault({"kind": "timeout", "count": 1, "delay_s": 5})
    # When an event arrives
    status, body = handlers.ingest(http_event())
    # Then it waits in the retry queue, marked as a failure without an HTTP status
    assert status == 202 and body["queued"] == 1
    [message] = local_aws.messages("retry")
    assert message["json"]["data"][0]["event_id"] == "ord-10042-purchase"
    assert message["json"]["last_error"]["status"] is None


def test_meta_and_queue_both_unavailable_answers_503_so_the_caller_sends_again(
    handlers, graph_sandbox, local_aws
):
    # Given a deployment whose retry queue does not exist, and Meta failing
    handlers.restart(RETRY_QUEUE_URL=f"{local_aws.endpoint}/123456789012/no-such-queue")
    graph_sandbox.add_fault({"kind": "5xx", "count": 1})
    # When an event arrives
    status, body = handlers.ingest(http_event())
    # Then nobody took it and the caller is told to retry, in the structured error shape
    assert status == 503
    assert body["errors"][0]["code"] == "unavailable"


def test_meta_rejecting_one_event_dead_letters_only_it_and_sends_the_rest(handlers, graph_sandbox, local_aws):
    # Given Meta refuses any request holding the AddToCart event
    graph_sandbox.add_fault({"kind": "reject", "event_name": "AddToCart"})
    # When the batch of three arrives
    status, body = handlers.ingest(http_event(sample_name="batch.json"))
    # Then the two others reach Meta, AddToCart is in the DLQ with the reason, and the answer names it
    assert status == 200
    assert sorted(e["event_name"] for e in sent_events(graph_sandbox)) == ["Purchase", "ViewContent"]
    [dead] = local_aws.messages("dlq")
    assert [e["event_name"] for e in dead["json"]["data"]] == ["AddToCart"]
    assert dead["json"]["dead_letter"]["reason"] == "meta_rejected"
    assert dead["json"]["dead_letter"]["graph_code"] == 100
    assert [(e["index"], e["code"]) for e in body["errors"]] == [(1, "meta_rejected")]


def test_browser_event_gets_fbp_from_cookie_and_fbc_from_fbclid(handlers, graph_sandbox):
    # Given the browser sample: an _fbp cookie, an fbclid in the page URL, a base64-encoded body
    event = sample("browser_with_cookies_fbclid.json")
    body = json.loads(event["body"])
    # When it arrives base64-encoded, as API Gateway passes non-text bodies
    status, _ = handlers.ingest(
        http_event(body, sample_name="browser_with_cookies_fbclid.json", base64_body=True)
    )
    # Then Meta gets the cookie's fbp and an fbc built from the click id
    assert status == 200
    [sent] = sent_events(graph_sandbox)
    assert sent["user_data"]["fbp"] == "fb.1.1795640000000.1098765432"
    assert sent["user_data"]["fbc"].startswith("fb.1.") and sent["user_data"]["fbc"].endswith(
        ".IwAR2xYz_example_click_id"
    )


def test_sent_event_emits_its_non_zero_counts_with_the_service_dimension_only(handlers, capsys):
    # Given the sample purchase (email, phone, external id, IP and user agent)
    # When it is sent
    status, _ = handlers.ingest(http_event())
    # Then one EMF document counts it, with one dimension (service) and no zero-valued metric
    out = capsys.readouterr().out
    totals = emitted_metrics(out)
    assert status == 200
    assert totals == {"EventsReceived": 1, "EventsSent": 1}
    blobs = [line for line in log_lines(out) if "_aws" in line]
    assert len(blobs) == 1
    assert {tuple(map(tuple, d["Dimensions"])) for b in blobs for d in b["_aws"]["CloudWatchMetrics"]} == {
        (("service",),)
    }
    assert {b["_aws"]["CloudWatchMetrics"][0]["Namespace"] for b in blobs} == {"CapiRelay"}
    # ... and the request's one INFO line carries the match keys the dashboard sums (never their values)
    [line] = [entry for entry in log_lines(out) if entry.get("message") == "relayed"]
    assert (line["k_em"], line["k_ph"], line["k_xid"], line["k_ipua"], line["accepted"]) == (1, 1, 1, 1, 1)
    assert "k_fbp" not in line and "k_fbc" not in line


def test_one_event_request_writes_one_log_line_and_one_emf_document(handlers, capsys):
    # Given a warm function (the first request's cold-start work is not what every request costs),
    # alone in its process as in Lambda: the retry function's Lambda-context keys, which another test
    # left on the log formatter both share here, are not the ingest function's
    import sys

    shared = sys.modules[handlers.ingest_handler.__module__].logger
    shared.remove_keys(["cold_start", "function_name", "function_memory_size", "function_arn"])
    shared.remove_keys(["function_request_id", "correlation_id"])
    handlers.ingest(http_event())
    capsys.readouterr()
    # When a browser's one-event request is relayed
    status, _ = handlers.ingest(http_event())
    # Then it writes two lines, the outcome and the metrics (CloudWatch Logs bills every byte) ...
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert status == 200 and len(lines) == 2
    outcome, emf = log_lines(out)
    # ... the outcome without Powertools' per-line context (Lambda's REPORT line and metrics say it)
    assert set(outcome) == {
        *("level", "message", "service", "request_id", "status", "count", "sent", "accepted"),
        *("k_em", "k_ph", "k_xid", "k_ipua"),
    }
    # ... and the metrics once each, as numbers, no zeros
    assert {k: v for k, v in emf.items() if k != "_aws"} == {
        "service": "capi-relay",
        "EventsReceived": 1,
        "EventsSent": 1,
    }


TOO_DEEP = '{"event_name": "Lead", "custom_data": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}"


@pytest.mark.parametrize(
    ("body", "base64_body", "status"),
    [
        pytest.param(b"not json", False, 400, id="not-json"),
        pytest.param(b"", False, 400, id="empty"),
        pytest.param(b"[1, 2, 3]", False, 400, id="array-of-numbers"),
        pytest.param(b'{"data": "x"}', False, 400, id="data-not-a-list"),
        pytest.param(b'{"data": []}', False, 400, id="no-events"),
        pytest.param(
            b'{"event_name": "Lead", "user_data": {"em": {"$ne": 1}}}', False, 400, id="object-in-user-data"
        ),
        pytest.param(b'{"event_name": "Lead", "event_time": NaN}', False, 400, id="nan"),
        pytest.param(
            b'{"event_name": "Lead", "event_time": 1' + b"0" * 400 + b"}", False, 400, id="huge-number"
        ),
        pytest.param(b'{"event_name": "' + b"x" * 5000 + b'"}', False, 400, id="long-string"),
        pytest.param(TOO_DEEP.encode(), False, 400, id="too-deep"),
        pytest.param(b'\xff\xfe{"event_name": "Lead"}', True, 400, id="not-utf8"),
        pytest.param(b'{"event_name": "Lead"}' + b" " * 1_100_000, False, 413, id="body-over-1mb"),
        pytest.param(
            json.dumps({"data": [{"event_name": "Lead", "user_data": {"em": "a@b.co"}}] * 1001}).encode(),
            False,
            413,
            id="1001-events",
        ),
        pytest.param(
            json.dumps(
                {"event_name": "Lead", "event_time": 1_500_000_000, "user_data": {"em": "a@b.co"}}
            ).encode(),
            False,
            400,
            id="event-too-old",
        ),
    ],
)
def test_malformed_request_is_refused_with_4xx_naming_field_and_code(
    handlers, graph_sandbox, body, base64_body, status
):
    # Given a body Meta would refuse (or that is not an event at all)
    event = http_event(body, base64_body=base64_body)
    # When the ingest function handles it
    got, answer = handlers.ingest(event)
    # Then it is a 4xx with structured errors (field, code, message), never a 5xx, nothing sent
    assert got == status
    assert answer["errors"] and all({"field", "code", "message"} <= set(e) for e in answer["errors"])
    assert sent_events(graph_sandbox) == []


def test_body_marked_base64_that_is_not_is_a_400(handlers):
    # Given an API Gateway event claiming a base64 body that is not base64
    event = http_event()
    event["body"], event["isBase64Encoded"] = "%%% not base64 %%%", True
    # When it is handled
    status, body = handlers.ingest(event)
    # Then the body is named as the problem
    assert status == 400 and body["errors"][0]["field"] == "body"


def test_unknown_pixel_in_query_is_forbidden(handlers, graph_sandbox):
    # Given a request naming a pixel this deployment does not serve
    event = http_event(query={"pixel_id": "999999999"})
    # When it is handled
    status, body = handlers.ingest(event)
    # Then it is refused, nothing is sent
    assert status == 403 and body["errors"][0]["field"] == "pixel_id"
    assert sent_events(graph_sandbox) == []


def test_unexpected_failure_answers_503_and_logs_only_the_error_type(handlers, capsys):
    # Given an event that is not an HTTP API request at all (headers of the wrong type)
    event = http_event()
    event["headers"] = ["canary-7f3a@example.com"]
    # When it is handled
    status, body = handlers.ingest(event)
    # Then the caller gets a JSON 503, and the log names the error class, no traceback, no value
    out = capsys.readouterr()
    assert status == 503 and body["errors"][0]["code"] == "internal_error"
    errors = [line for line in log_lines(out.out) if line.get("message") == "internal_error"]
    assert [line["error_class"] for line in errors] == ["AttributeError"]
    assert "Traceback" not in out.out + out.err and "canary" not in out.out + out.err


def test_unreadable_secret_answers_503_because_callers_cannot_be_checked(handlers, graph_sandbox, capsys):
    # Given a deployment whose secret cannot be read (API keys and token unknown)
    handlers.restart(SECRET_ID="capi-relay/no-such-secret")
    capsys.readouterr()
    # When an event arrives
    status, body = handlers.ingest(http_event())
    # Then the caller is told to send again later, and why: the secret, by name (not "Meta or the
    # queue"); nothing went to Meta; it counts as a secret error, not a Meta error
    [error] = body["errors"]
    assert status == 503 and error["code"] == "secret_unavailable"
    assert "capi-relay/no-such-secret" in error["message"] and "Meta" not in error["message"]
    assert sent_events(graph_sandbox) == []
    totals = emitted_metrics(capsys.readouterr().out)
    assert totals["SecretErrors"] == 1 and "MetaErrors" not in totals


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/events"),
        ("POST", "/"),
        ("POST", "/events/../admin"),
        ("PUT", "/events"),
        ("POST", "/Events"),
    ],
)
def test_a_function_url_request_other_than_post_events_gets_404_and_reaches_nobody(
    handlers, graph_sandbox, method, path
):
    # Given a function URL, which hands the function every method and path (it has no routes)
    from local.api_server import function_url_event

    event = function_url_event(http_event())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    # When a stranger probes another path or method with a valid body
    response = handlers.ingest_handler(event, None)
    # Then the answer is API Gateway's 404 for an unknown route, and nothing went to Meta
    assert response["statusCode"] == 404 and json.loads(response["body"]) == {"message": "Not Found"}
    assert sent_events(graph_sandbox) == []
