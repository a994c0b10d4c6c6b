"""The e2e suite's own fixture: `python -m local.run` as a user starts it, shared by the whole run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import API_VERSION, META_TOKEN, PIXEL_ID
from tests.e2e.local_stack import LocalStackProcess


@pytest.fixture(scope="session")
def local_stack_server() -> Iterator[LocalStackProcess]:
    """`python -m local.run` as a user starts it (own free ports), once per run; prefer `local_stack`."""
    with LocalStackProcess.running(
        META_ACCESS_TOKEN=META_TOKEN,
        META_PIXEL_ID=PIXEL_ID,
        META_API_VERSION=API_VERSION,
        RETRY_BASE_DELAY_S="0.2",
        MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR="false",
    ) as stack:
        yield stack


@pytest.fixture
def local_stack(local_stack_server: LocalStackProcess) -> LocalStackProcess:
    """The running local stack with a clean sandbox, empty queues and the original token."""
    local_stack_server.reset(META_TOKEN)
    return local_stack_server
