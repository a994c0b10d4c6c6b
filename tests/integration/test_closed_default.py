"""Closed by default, through the real ingest handler (issue 14, findings 1, 2 and 8): the environment
the template gives it, the secret in the moto server, metrics and log lines as Lambda would write them.
"""

from __future__ import annotations

import json

from tests.conftest import META_TOKEN
from tests.integration.lambda_events import emitted_metrics, http_event, log_lines, sample

GENERATED_KEY = "Xq9vK2mR7tL4pZ8wB3nC6yD1"  # what GenerateSecretString puts in api_keys: a string


def server_event(**headers: str) -> dict:
    event = http_event(headers=headers)
    del event["headers"]["origin"]
    return event


def test_deployed_relay_without_open_relay_refuses_a_stranger_even_with_no_keys(
    handlers, local_aws, graph_sandbox
):
    # Given the template's default (OpenRelay false: no OPEN_RELAY set) and a secret with no API key
    local_aws.put_token(META_TOKEN)
    handlers.restart()
    # When a server with neither credentials nor an Origin posts
    status, body = handlers.ingest(server_event())
    # Then it is a 401 and Meta has nothing
    assert status == 401 and body["errors"][0]["code"] == "credentials_missing"
    assert graph_sandbox.events() == []


def test_open_relay_parameter_admits_strangers(handlers, local_aws, graph_sandbox):
    # Given OpenRelay=true (a trial)
    local_aws.put_token(META_TOKEN)
    handlers.restart(OPEN_RELAY="true")
    # When the same stranger posts
    status, _ = handlers.ingest(server_event())
    # Then it is relayed
    assert status == 200 and len(graph_sandbox.events()) == 1


def test_generated_api_key_stored_as_a_string_admits_its_server(handlers, local_aws, graph_sandbox):
    # Given the secret as the stack creates it: a placeholder token replaced, api_keys one random string
    local_aws.put_token(META_TOKEN)
    secret = {"access_token": META_TOKEN, "api_keys": GENERATED_KEY}
    local_aws.client("secretsmanager").put_secret_value(
        SecretId=local_aws.names["secret_id"], SecretString=json.dumps(secret)
    )
    handlers.restart()
    # When a server sends that key, and another a prefix of it
    status, _ = handlers.ingest(server_event(**{"x-api-key": GENERATED_KEY}))
    prefix, _ = handlers.ingest(server_event(**{"x-api-key": GENERATED_KEY[:4]}))
    # Then the key works (a string is one key, not its characters) and a part of it does not
    assert (status, prefix) == (200, 401)


def test_refused_requests_are_counted_apart_from_events_received(handlers, local_aws, capsys):
    # Given a closed relay
    local_aws.put_token(META_TOKEN, api_keys=["k_live_metrics-7c1d"])
    handlers.restart()
    capsys.readouterr()
    # When strangers post three times (one without credentials, one from a foreign origin, one bad key)
    foreign = http_event(headers={"origin": "https://evil.example"})
    answers = [
        handlers.ingest(server_event())[0],
        handlers.ingest(foreign)[0],
        handlers.ingest(server_event(**{"x-api-key": "guess"}))[0],
    ]
    totals = emitted_metrics(capsys.readouterr().out)
    # Then they are RequestsRefused, and EventsReceived (the volume alarms' input) does not move
    assert answers == [401, 403, 401]
    assert totals.get("RequestsRefused") == 3
    assert totals.get("EventsReceived", 0) == 0 and totals.get("EventsRejected", 0) == 0


def test_event_ids_are_not_logged(handlers, capsys):
    # Given an event whose id is the caller's order number
    body = sample("single.json")["body"]
    # When it is relayed
    status, answer = handlers.ingest(http_event(body))
    out = capsys.readouterr().out
    # Then the caller gets it back, the log does not hold it
    assert status == 200 and answer["event_ids"] == ["ord-10042-purchase"]
    [line] = [entry for entry in log_lines(out) if entry.get("message") == "relayed"]
    assert line["count"] == 1 and "event_ids" not in line
    assert "ord-10042-purchase" not in out


def test_browser_batch_over_the_limit_is_413(handlers, graph_sandbox):
    # Given BROWSER_MAX_EVENTS from the template parameter
    handlers.restart(BROWSER_MAX_EVENTS="3")
    event = json.loads(sample("single.json")["body"])
    # When a page (allowed Origin, no key) posts 4 events
    status, body = handlers.ingest(http_event({"data": [event] * 4}))
    # Then it is a 413 naming the limit
    assert (
        status == 413
        and body["errors"][0]["code"] == "too_many_events"
        and "3" in body["errors"][0]["message"]
    )
    assert graph_sandbox.events() == []
