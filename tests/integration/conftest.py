"""The handlers as Lambda runs them, against the moto server and the Graph sandbox (tests/conftest.py);
and the domain over real HTTP: a Meta client aimed at the sandbox or at a scripted Graph.

Each handler test gets a cold start: its environment is set first, then functions/*/app.py are
loaded, so settings, clients and the cached secret are those of a new container.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from capi_relay.meta_client import MetaClient
from local.functions import load_handler
from tests.conftest import META_TOKEN
from tests.integration import lambda_events
from tests.integration.lambda_events import LambdaContext, sqs_event
from tests.integration.scripted_graph import ScriptedGraph
from tests.unit.doubles import RecordingSink, TokenSource

ORIGIN = "https://shop.example"
SERVICE = "capi-relay"  # POWERTOOLS_SERVICE_NAME: the Powertools Logger's name


@dataclass
class Handlers:
    """The two handlers of one cold start, and helpers that drive them like Lambda does."""

    ingest_handler: Callable[[dict, object], dict]
    retry_handler: Callable[[dict, object], dict]
    aws: Any  # tests/conftest.py LocalAws
    monkeypatch: pytest.MonkeyPatch

    def restart(self, **env: str) -> None:
        """A new container with these environment variables changed (a redeploy with new settings)."""
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        self.ingest_handler, self.retry_handler = load_handler("ingest"), load_handler("retry")

    def ingest(self, event: dict, remaining_ms: int = 20_000) -> tuple[int, dict]:
        """Invoke the ingest function with `remaining_ms` left before its timeout; (status, JSON body)."""
        _log_to_current_stdout()
        response = self.ingest_handler(event, LambdaContext(remaining_ms=remaining_ms))
        return response["statusCode"], json.loads(response["body"])

    def receive(self, visibility_timeout: int = 30) -> list[dict]:
        """Receive up to 10 retry messages as the event source mapping would (they turn invisible)."""
        return (
            self.aws.client("sqs")
            .receive_message(
                QueueUrl=self.aws.names["retry_queue_url"],
                MaxNumberOfMessages=10,
                VisibilityTimeout=visibility_timeout,
                AttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            .get("Messages", [])
        )

    def retry(
        self, messages: list[dict], receive_count: int | None = None, remaining_ms: int = 60_000
    ) -> dict:
        """Invoke the retry function on received messages, then delete the records it did not fail
        (what the SQS event source mapping does with a partial batch response)."""
        _log_to_current_stdout()
        response = self.retry_handler(
            sqs_event(messages, receive_count), LambdaContext(remaining_ms=remaining_ms)
        )
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        sqs = self.aws.client("sqs")
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(
                    QueueUrl=self.aws.names["retry_queue_url"], ReceiptHandle=message["ReceiptHandle"]
                )
        return response


def _log_to_current_stdout() -> None:
    """Powertools' log handler keeps the stdout of the first Logger ever made; give it the test's
    current one (capsys), so what the function logs during this call is what the test reads."""
    for handler in logging.getLogger(SERVICE).handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is not sys.stdout:
            handler.stream = sys.stdout  # not setStream: it flushes the old one, maybe closed


@pytest.fixture
def handler_env(relay_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment template.yaml gives the functions, pointing at the local servers."""
    env = {
        **relay_env,
        "ALLOWED_ORIGINS": ORIGIN,
        "ALLOWED_URL_DOMAINS": "",
        "DEFAULT_REGION": "us",
        "TRUSTED_PROXY": "false",
        "LDU_DEFAULT": "false",
        "LOG_LEVEL": "INFO",
        "META_TIMEOUT_S": "1",  # the sandbox's timeout fault holds requests longer than this
        "RETRY_BASE_DELAY_S": "30",
        "RETRY_MAX_ATTEMPTS": "12",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("POWERTOOLS_DEV", "POWERTOOLS_EVENT_HANDLER_DEBUG", "POWERTOOLS_LOGGER_LOG_EVENT"):
        monkeypatch.delenv(name, raising=False)
    return env


@pytest.fixture(params=["HttpApi", "FunctionUrl"])
def front_door(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each handler test runs behind both of template.yaml's front doors: http_event() builds the
    HTTP API's event or the function URL's."""
    monkeypatch.setattr(lambda_events, "FRONT_DOOR", request.param)
    return str(request.param)


@pytest.fixture
def handlers(
    front_door: str,
    handler_env: dict[str, str],
    local_aws: Any,
    graph_sandbox: Any,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> Handlers:
    """A cold start of the ingest and retry functions; their log lines go to capsys' stdout."""
    return Handlers(load_handler("ingest"), load_handler("retry"), local_aws, monkeypatch)


@pytest.fixture
def server(handlers: Handlers, local_aws: Any) -> Handlers:
    """The handlers with lambda_events.SERVER_KEY in the secret: a backend's requests (server_event)
    carry it, as a deployed relay (closed by default) requires of servers."""
    local_aws.put_token(local_aws.token, api_keys=[lambda_events.SERVER_KEY])
    return handlers


# --- the domain over real HTTP: a scripted Graph, the sandbox, and doubles for the AWS ports --------


@pytest.fixture(scope="session")
def scripted_graph_server() -> Iterator[ScriptedGraph]:
    graph = ScriptedGraph().start()
    try:
        yield graph
    finally:
        graph.stop()


@pytest.fixture
def scripted_graph(scripted_graph_server: ScriptedGraph) -> Iterator[ScriptedGraph]:
    """The scripted Graph, clean for this test."""
    scripted_graph_server.reset()
    yield scripted_graph_server
    scripted_graph_server.reset()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def client(graph_sandbox) -> Iterator[MetaClient]:
    """A Meta client pointed at the shared Graph sandbox, over real HTTP."""
    meta = MetaClient(graph_sandbox.url, "v24.0", timeout=(2, 5))
    yield meta
    meta.close()


@pytest.fixture
def tokens() -> TokenSource:
    """A credential source holding the token the sandbox accepts."""
    return TokenSource([META_TOKEN])
