"""The SQS side of the retry path: the domain's sink (retry / dead-letter), and hiding a record for
the backoff the domain chose (capi_relay.redeliver holds the retry policy).

Messages hold hashed, ready-to-send events only (docs/CONTRACTS.md, "Retry / DLQ message"); the
domain builds them and cuts them to size (delivery.messages), this module only moves them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from capi_relay.errors import QueueUnavailable
from capi_relay.json_codec import write_message

MAX_MESSAGE_BYTES = 256 * 1024  # SQS's classic limit (the domain keeps messages under 240 KB)
# short: queueing what is left happens in the last seconds before the invocation's deadline
CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 2.0
ATTEMPTS = 2
WORST_WRITE_S = ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S)  # one message, kept back from the deadline


@cache
def _sqs() -> Any:
    """One client per container, created on first use (boto3 honours AWS_ENDPOINT_URL)."""
    import boto3

    from relay_aws import client_config

    return boto3.client("sqs", config=client_config.bounded(CONNECT_TIMEOUT_S, READ_TIMEOUT_S, ATTEMPTS))


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

        body = write_message(message)  # as the domain measured it when it cut the message to size
        try:
            _sqs().send_message(QueueUrl=url, MessageBody=body)
        except (BotoCoreError, ClientError) as error:
            # the botocore message names the queue and the error code only, never the body
            raise QueueUnavailable(f"SQS refused the message: {type(error).__name__}") from None


@cache
def sink() -> RetryQueue:
    """The queues of this deployment (settings are read once per container)."""
    from relay_aws import settings

    loaded = settings.load()
    return RetryQueue(loaded.retry_queue_url, loaded.dlq_url)


def delay(receipt_handle: str, seconds: int, queue_url: str | None = None) -> None:
    """Hide a received message for `seconds` (SQS ChangeMessageVisibility): the record's backoff."""
    _sqs().change_message_visibility(
        QueueUrl=queue_url or sink().retry_url, ReceiptHandle=receipt_handle, VisibilityTimeout=int(seconds)
    )
