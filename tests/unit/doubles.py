"""Test doubles for the domain's ports: a recording retry-queue sink and a scripted token source.

In a module of their own (not conftest.py) so that tests import them by one unambiguous name,
whichever suites share the pytest session. An in-memory sink is right here: capi_relay has no AWS;
the SQS adapter is tested against a moto server in tests/integration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from capi_relay.model import Credentials


@dataclass
class RecordingSink:
    """The retry-queue port, in memory: keeps messages as JSON text (what SQS would hold)."""

    fail: bool = False
    retries: list[str] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)

    def retry(self, message: dict) -> None:
        if self.fail:
            raise ConnectionError("queue down")
        self.retries.append(json.dumps(message))

    def dead_letter(self, message: dict) -> None:
        if self.fail:
            raise ConnectionError("queue down")
        self.dead_letters.append(json.dumps(message))

    def retry_messages(self) -> list[dict]:
        return [json.loads(m) for m in self.retries]

    def dead_letter_messages(self) -> list[dict]:
        return [json.loads(m) for m in self.dead_letters]


@dataclass
class TokenSource:
    """A credential source that hands out `tokens` in turn: the first, then the next on force_refresh."""

    tokens: list[str]
    app_secret: str | None = None
    calls: list[tuple[str, bool]] = field(default_factory=list)

    def __call__(self, pixel_id: str, force_refresh: bool) -> Credentials:
        self.calls.append((pixel_id, force_refresh))
        refreshes = sum(1 for _, forced in self.calls if forced)
        return Credentials(self.tokens[min(refreshes, len(self.tokens) - 1)], self.app_secret)
