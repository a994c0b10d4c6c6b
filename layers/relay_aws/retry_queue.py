"""The SQS side of the retry path: the domain's sink (retry / dead-letter) and the backoff.

Messages hold hashed, ready-to-send events only (docs/CONTRACTS.md, "Retry / DLQ message"); the
domain builds them, this module only moves them.
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

from capi_relay.errors import QueueUnavailable

MAX_MESSAGE_BYTES = 256 * 1024  # SQS's classic limit; messages above it are split by their events
# SQS: a message's visibility may not extend past 12 h after it was received; the margin covers
# the time this invocation has already spent (the retry function's timeout is 60 s)
MAX_VISIBILITY_S = 12 * 3600 - 300


@cache
def _sqs() -> Any:
    """One client per container, created on first use (boto3 honours AWS_ENDPOINT_URL)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client("sqs", config=config)


class RetryQueue:
    """The domain's Sink on SQS: `retry` → retry queue, `dead_letter` → DLQ; both raise QueueUnavailable."""

    def __init__(self, retry_url: str, dlq_url: str) -> None:
        self.retry_url = retry_url
        self.dlq_url = dlq_url

    def retry(self, message: dict) -> None:
        self._send(self.retry_url, message)

    def dead_letter(self, message: dict) -> None:
        self._send(self.dlq_url, message)

    def _send(self, url: str, message: dict) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for body in _bodies(message):
                _sqs().send_message(QueueUrl=url, MessageBody=body)
        except (BotoCoreError, ClientError) as error:
            # the botocore message names the queue and the error code only, never the body
            raise QueueUnavailable(f"SQS refused the message: {type(error).__name__}") from None


def _bodies(message: dict) -> list[str]:
    """One SQS body, or several when the events do not fit in one (each keeps the same envelope)."""
    body = json.dumps(message, separators=(",", ":"))
    events = message.get("data") or []
    if len(body.encode()) <= MAX_MESSAGE_BYTES or len(events) < 2:
        return [body]
    half = len(events) // 2
    return _bodies({**message, "data": events[:half]}) + _bodies({**message, "data": events[half:]})


@cache
def sink() -> RetryQueue:
    """The queues of this deployment (settings are read once per container)."""
    from relay_aws import settings

    loaded = settings.load()
    return RetryQueue(loaded.retry_queue_url, loaded.dlq_url)


def backoff_seconds(receive_count: int, base_s: float) -> int:
    """Delay before the next attempt: base × 2^(attempt − 1), rounded up to whole seconds (so even a
    tiny test base never retries a failing Meta in a hot loop), at most MAX_VISIBILITY_S."""
    exponent = max(receive_count, 1) - 1
    if exponent >= 32:  # far past the cap anyway; keeps the float finite
        return MAX_VISIBILITY_S
    return min(math.ceil(base_s * 2**exponent), MAX_VISIBILITY_S)


def delay(receipt_handle: str, seconds: int, queue_url: str | None = None) -> None:
    """Hide a received message for `seconds` (SQS ChangeMessageVisibility): the record's backoff."""
    _sqs().change_message_visibility(
        QueueUrl=queue_url or sink().retry_url, ReceiptHandle=receipt_handle, VisibilityTimeout=int(seconds)
    )


def attempt(receive_count: int | str, message: object) -> int:
    """This delivery's attempt number: SQS's receive count, continued for a message that was re-queued
    after partial progress (redeliver counts those in the message's `attempts`)."""
    previous = message.get("attempts") if isinstance(message, dict) else None
    previous = previous if isinstance(previous, int) and not isinstance(previous, bool) else 1
    return max(int(receive_count), 1) + max(previous - 1, 0)


def malformed(body: str, now: float) -> dict:
    """A DLQ message for a body that is not a capi-relay retry message (put there by hand?), kept as is."""
    return {"v": 1, "body": body, "dead_letter": {"reason": "malformed", "at": int(now)}}
