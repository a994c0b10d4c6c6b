"""The one way our AWS clients are configured: every call ends in a bounded time.

The SDK's defaults (60 s timeouts, several retries) would hold an invocation for minutes while a
service is slow; each caller names its own timeouts and attempts, and keeps their worst case
(attempts × (connect + read)) back from the invocation's deadline.
"""

from __future__ import annotations

from typing import Any


def bounded(connect_s: float, read_s: float, attempts: int) -> Any:
    """A botocore Config: `attempts` tries in all (standard retry mode), each within the timeouts."""
    from botocore.config import Config

    return Config(
        connect_timeout=connect_s,
        read_timeout=read_s,
        retries={"total_max_attempts": attempts, "mode": "standard"},
    )
