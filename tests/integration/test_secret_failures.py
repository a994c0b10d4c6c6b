"""When the secret fails: an outage keeps the last auth policy read (stale-while-error) and queues the
events; a secret without a usable token counts as a token error, so the token alarm fires.

Against the moto server: the secret is really deleted, or really holds the template's placeholder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local import aws
from relay_aws import token
from relay_aws.token import PLACEHOLDER
from tests.conftest import META_TOKEN
from tests.integration.lambda_events import emitted_metrics, http_event

API_KEY = "k_live_canary-outage-key-31f0"


def server_event(**headers: str) -> dict:
    """The sample request as a server sends it: no Origin, the given headers added."""
    event = http_event(headers=headers)
    del event["headers"]["origin"]
    return event


@pytest.fixture
def outage(local_aws) -> Iterator:
    """A callable that deletes the secret for good (as an outage would make it unreadable), and
    the secret put back afterwards for the next test."""

    def start() -> None:
        local_aws.client("secretsmanager").delete_secret(
            SecretId=local_aws.names["secret_id"], ForceDeleteWithoutRecovery=True
        )
        token.expire_cache()  # the 5-minute cache has run out: the next read goes to the server

    yield start
    local_aws.reset()


def test_secret_outage_after_a_good_read_keeps_checking_callers_with_the_last_policy(
    handlers, local_aws, graph_sandbox, outage, capsys
):
    # Given a locked relay that has read its secret once (a keyed server's event went out)
    local_aws.put_token(META_TOKEN, api_keys=[API_KEY])
    assert handlers.ingest(server_event(**{"x-api-key": API_KEY}))[0] == 200
    # When Secrets Manager stops answering and callers keep coming
    outage()
    capsys.readouterr()
    keyed, _ = handlers.ingest(server_event(**{"x-api-key": API_KEY}))
    stranger, refused = handlers.ingest(server_event())
    wrong, _ = handlers.ingest(server_event(**{"x-api-key": "k_live_guess"}))
    # Then the keyed server is still served, its event sent with the last good token (stale-while-
    # error), strangers are still refused, and nothing counts as a Meta error
    assert keyed == 200 and local_aws.messages("retry") == []
    assert (stranger, wrong) == (401, 401) and refused["errors"][0]["code"] == "credentials_missing"
    totals = emitted_metrics(capsys.readouterr().out)
    assert "MetaErrors" not in totals
    assert len(graph_sandbox.events()) == 2  # stale-while-error: the token read before the outage


def test_secret_outage_in_a_container_that_never_read_it_fails_closed(handlers, local_aws, outage):
    # Given a locked relay whose secret becomes unreadable before a new container ever read it
    local_aws.put_token(META_TOKEN, api_keys=[API_KEY])
    assert handlers.ingest(server_event(**{"x-api-key": API_KEY}))[0] == 200
    outage()
    handlers.restart()
    # When a keyed server and a stranger post
    keyed, body = handlers.ingest(server_event(**{"x-api-key": API_KEY}))
    stranger, _ = handlers.ingest(server_event())
    # Then nobody can be checked, so nobody gets in: 503, send again later
    assert (keyed, stranger) == (503, 503) and body["errors"][0]["code"] == "secret_unavailable"
    assert local_aws.messages("retry") == []


@pytest.mark.parametrize(
    "secret",
    [
        aws.secret_value(PLACEHOLDER),  # the template's placeholder, as a fresh deployment has it
        {"app_secret": "set-but-no-token"},  # no access_token at all
        aws.secret_value("   "),
    ],
    ids=["placeholder", "no-token", "blank-token"],
)
def test_secret_without_a_usable_token_counts_as_a_token_error_and_the_event_waits(
    handlers, local_aws, graph_sandbox, capsys, secret
):
    # Given a deployment whose secret holds no usable token
    aws.put_secret(local_aws.endpoint, local_aws.names["secret_id"], secret)
    # When an event arrives
    status, body = handlers.ingest(http_event())
    # Then it waits in the retry queue (never lost), Meta was not called, and the token alarm's
    # metric counts it (not MetaErrorsTransient, which no token alarm watches)
    assert status == 202 and body["queued"] == 1
    [message] = local_aws.messages("retry")
    assert message["json"]["last_error"]["error_class"] == "token"
    assert graph_sandbox.requests() == []
    totals = emitted_metrics(capsys.readouterr().out)
    assert totals["MetaErrorsToken"] == 1 and "MetaErrorsTransient" not in totals


def test_retry_without_a_usable_token_counts_token_errors_until_the_token_is_set(
    handlers, local_aws, graph_sandbox, capsys
):
    # Given an event queued because the secret still holds the placeholder
    local_aws.put_token(PLACEHOLDER)
    assert handlers.ingest(http_event())[0] == 202
    messages = handlers.receive()
    capsys.readouterr()
    # When the retry function runs before the operator has set the token
    response = handlers.retry(messages)
    # Then the record is retried later, counted as a token error
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [messages[0]["MessageId"]]
    totals = emitted_metrics(capsys.readouterr().out)
    assert totals["MetaErrorsToken"] == 1 and "MetaErrorsTransient" not in totals
    assert graph_sandbox.requests() == []
