"""The e2e suite's own fixtures: `python -m local.run` as a user starts it, shared by the whole run."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from tests.conftest import API_VERSION, META_TOKEN, PIXEL_ID
from tests.e2e.browser_support import Site
from tests.e2e.local_stack import LocalStackProcess

FRONT_DOORS = ("HttpApi", "FunctionUrl")
# on an e2e test: run it against both front doors (`local_stack` is then the one named)
BOTH_FRONT_DOORS = pytest.mark.parametrize("local_stack", FRONT_DOORS, indirect=True)


# the session stacks' environment: the suite's pixel and token, retries a test can wait for
STACK_ENV = {
    "META_ACCESS_TOKEN": META_TOKEN,
    "META_PIXEL_ID": PIXEL_ID,
    "META_API_VERSION": API_VERSION,
    "RETRY_BASE_DELAY_S": "0.2",
    "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR": "false",
}


@pytest.fixture(scope="session")
def local_stack_server() -> Iterator[LocalStackProcess]:
    """`python -m local.run` as a user starts it (own free ports), once per run; prefer `local_stack`."""
    with LocalStackProcess.running(**STACK_ENV) as stack:
        yield stack


@pytest.fixture(scope="session")
def function_url_stack_server() -> Iterator[LocalStackProcess]:
    """The same, behind a function URL (FRONT_DOOR=FunctionUrl): started only by tests that ask for it."""
    with LocalStackProcess.running(**STACK_ENV, FRONT_DOOR="FunctionUrl") as stack:
        yield stack


@pytest.fixture(scope="module")
def shop() -> Iterator[Site]:
    """The shop's own web server (one per test module), for tests that drive a browser on its pages."""
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture
def local_stack(request: pytest.FixtureRequest, local_stack_server: LocalStackProcess) -> LocalStackProcess:
    """The running local stack with a clean sandbox, empty queues and the original token (HttpApi,
    or the front door a BOTH_FRONT_DOORS test names)."""
    stack = local_stack_server
    if getattr(request, "param", "HttpApi") == "FunctionUrl":
        stack = request.getfixturevalue("function_url_stack_server")
    stack.reset(META_TOKEN)
    return stack


@pytest.fixture
def code(request: pytest.FixtureRequest) -> str:
    """This test's test_event_code: its events, and only them, at the sandbox (stable across runs)."""
    return "TEST" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:8].upper()
