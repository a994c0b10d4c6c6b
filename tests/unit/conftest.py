"""Unit tests are plain Python: they start no server and open no socket.

A test that needs the Graph sandbox, the scripted Graph or the moto server is an integration test:
it belongs in tests/integration, whose conftest has those fixtures. Asking for one here fails at
once and says so, instead of quietly starting a server from the unit suite.
"""

from __future__ import annotations

import pytest


def _refuse(request: pytest.FixtureRequest) -> None:
    pytest.fail(
        f"{request.node.nodeid} asks for {request.fixturename!r}, which starts a server: unit tests "
        "start none. Move the test to tests/integration (fixtures: tests/integration/conftest.py).",
        pytrace=False,
    )


@pytest.fixture
def graph_sandbox(request: pytest.FixtureRequest) -> None:
    _refuse(request)


@pytest.fixture
def scripted_graph(request: pytest.FixtureRequest) -> None:
    _refuse(request)


@pytest.fixture
def client(request: pytest.FixtureRequest) -> None:
    _refuse(request)


@pytest.fixture
def local_aws(request: pytest.FixtureRequest) -> None:
    _refuse(request)


@pytest.fixture
def relay_env(request: pytest.FixtureRequest) -> None:
    _refuse(request)
