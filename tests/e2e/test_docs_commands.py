"""Every shell block of the docs that is meant to run on a developer's machine runs, against `make run`.

Each document gets its own local stack, started as `make run` starts it but on free ports; the blocks
run in the order a reader meets them, with the documented default ports swapped for the stack's. `curl`
is told to fail on an HTTP error, so a block whose request the relay refuses fails here too.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs_blocks import ROOT, documents, shell_blocks
from tests.e2e.local_stack import LocalStackProcess

RUNNABLE = {path: [b for b in shell_blocks(path) if not b.marker] for path in documents()}
PAGES = [path for path, found in RUNNABLE.items() if found]
DEFAULT_PORTS = {"PORT": "3000", "SANDBOX_PORT": "8089", "AWS_SERVER_PORT": "4566"}


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def as_run_here(text: str, stack: LocalStackProcess) -> str:
    for name, default in DEFAULT_PORTS.items():
        text = text.replace(f"127.0.0.1:{default}", f"127.0.0.1:{stack.ports[name]}")
    return text.replace("curl -s ", "curl -sS --fail-with-body ")


@pytest.fixture(params=PAGES, ids=_id)
def page_and_stack(request: pytest.FixtureRequest) -> Iterator[tuple[Path, LocalStackProcess]]:
    with LocalStackProcess.running(RETRY_BASE_DELAY_S="1") as stack:
        yield request.param, stack


def test_the_runnable_blocks_are_found():
    # Given the docs, Then the README's tour and the local-mode page offer commands to run
    assert {"README.md", "docs/local-mode.md"} <= {_id(p) for p in PAGES}


def test_every_runnable_block_runs_against_the_local_stack(page_and_stack: tuple[Path, LocalStackProcess]):
    page, stack = page_and_stack
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    for block in RUNNABLE[page]:
        # When a reader pastes the block into a shell in the repository
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", as_run_here(block.text, stack)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        # Then it succeeds
        assert done.returncode == 0, (
            f"{_id(page)}:{block.line} exited {done.returncode}:\n{done.stderr[-2000:]}"
        )
