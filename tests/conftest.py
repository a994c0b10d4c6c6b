"""Servers shared by the integration and e2e suites: a real moto server and the Graph sandbox.

The e2e suite's local stack (a `python -m local.run` subprocess) is its own: tests/e2e/conftest.py.

Both start once per run, only when a test asks for them (unit tests start nothing), and stop at the
end of the session. `graph_sandbox` and `local_aws` hand each test a clean slate: no Graph events,
no faults, the original token, empty queues, the original secret.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from local import aws
from local.graph_sandbox import GraphSandbox

PIXEL_ID = "1234567890"
META_TOKEN = "sandbox-token-3c9e51"  # a canary too: it must never show up in a log, queue or response
API_VERSION = "v24.0"


def free_port() -> int:
    """A port nobody listens on right now, on 127.0.0.1."""
    return aws.free_port()


@dataclass
class LocalAws:
    """The moto server: its endpoint, the provisioned names and the handlers' AWS environment."""

    endpoint: str
    names: dict[str, str]  # retry_queue_url, retry_queue_arn, dlq_url, dlq_arn, secret_id
    env: dict[str, str]  # AWS_ENDPOINT_URL, credentials, region, SECRET_ID, RETRY_QUEUE_URL, DLQ_URL, ...
    token: str = META_TOKEN
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """A cached boto3 client for this server."""
        if service not in self._clients:
            self._clients[service] = aws.client(service, self.endpoint)
        return self._clients[service]

    def put_token(self, token: str, **extra: Any) -> None:
        """Store a new secret version, as an operator rotating the token would."""
        aws.put_secret(self.endpoint, self.names["secret_id"], aws.secret_value(token, **extra))

    def messages(self, queue: str = "retry", visibility_timeout: int = 0) -> list[dict]:
        """Every message in `retry` or `dlq`, bodies parsed; visibility 0 leaves them in place.

        Each look counts as a receive (ApproximateReceiveCount, and so the redrive to the DLQ).
        """
        url = self.names[f"{queue}_queue_url" if queue == "retry" else "dlq_url"]
        found: dict[str, dict] = {}
        for _ in range(20):  # bounded: SQS hands out at most 10 per call
            got = (
                self.client("sqs")
                .receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=visibility_timeout,
                    AttributeNames=["All"],
                    WaitTimeSeconds=0,
                )
                .get("Messages", [])
            )
            new = [m for m in got if m["MessageId"] not in found]
            if not new:
                break
            for message in new:
                found[message["MessageId"]] = {**message, "json": json.loads(message["Body"])}
        return list(found.values())

    def reset(self) -> None:
        aws.purge(self.endpoint, self.names["retry_queue_url"], self.names["dlq_url"])
        self.put_token(self.token)


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    """Set environment variables for a subprocess about to start, then put them back."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def moto_server() -> Iterator[LocalAws]:
    """One moto server (a subprocess in server mode) for the whole run, provisioned like the template."""
    with _env(MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR="false"):  # tests purge more than once a minute
        proc, endpoint = aws.start_moto(free_port())
    try:
        names = aws.provision(endpoint, token=META_TOKEN)
        yield LocalAws(endpoint=endpoint, names=names, env=aws.handler_env(endpoint, names))
    finally:
        aws.stop_moto(proc)


@pytest.fixture
def local_aws(moto_server: LocalAws) -> LocalAws:
    """The moto server with empty queues and the original secret."""
    moto_server.reset()
    return moto_server


@pytest.fixture(scope="session")
def graph_sandbox_server() -> Iterator[GraphSandbox]:
    """One Graph sandbox for the whole run; prefer `graph_sandbox`, which resets it per test."""
    sandbox = GraphSandbox(port=0, tokens={PIXEL_ID: META_TOKEN}, token=META_TOKEN, pixels=[PIXEL_ID])
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def graph_sandbox(graph_sandbox_server: GraphSandbox) -> Iterator[GraphSandbox]:
    """The Graph sandbox with no events, no faults and the original token; faults cleared after too."""
    graph_sandbox_server.reset()
    yield graph_sandbox_server
    graph_sandbox_server.clear_faults()  # releases any request a timeout fault still holds


@pytest.fixture
def relay_env(moto_server: LocalAws, graph_sandbox_server: GraphSandbox) -> dict[str, str]:
    """Every variable the handlers read (docs/CONTRACTS.md), pointing at the two local servers."""
    return {
        **moto_server.env,
        "META_GRAPH_URL": graph_sandbox_server.url,
        "META_API_VERSION": API_VERSION,
        "META_PIXEL_ID": PIXEL_ID,
        "RETRY_BASE_DELAY_S": "0.2",
        "POWERTOOLS_SERVICE_NAME": "capi-relay",
        "POWERTOOLS_METRICS_NAMESPACE": "CapiRelay",
        "METRICS_NAMESPACE": "CapiRelay",
    }
