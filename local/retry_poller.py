"""Lambda's SQS event source mapping, emulated: retry queue → the real retry handler.

Long-polls the queue, hands each batch to the handler as the SQS event Lambda would build, then
deletes what succeeded. Failed records are left alone: they come back when the visibility timeout
the handler set runs out, and the queue's redrive policy moves them to the DLQ after
maxReceiveCount receives — moto implements both, so backoff and dead-lettering are the real thing.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from local.api_server import LambdaContext

Handler = Callable[[dict, Any], Any]


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The event Lambda passes for a batch received with AttributeNames=All."""
    return {"Records": [_record(m, queue_arn, region) for m in messages]}


def _record(message: dict, queue_arn: str, region: str) -> dict:
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []),
                "dataType": value.get("DataType"),
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody")
        or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_ids(result: Any, message_ids: set[str]) -> set[str]:
    """The records to keep, read as Lambda reads ReportBatchItemFailures (a malformed answer fails all)."""
    if result is None:
        return set()
    if not isinstance(result, dict):
        return set(message_ids)
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(message_ids)
    ids = set()
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in message_ids:
            return set(message_ids)
        ids.add(ident)
    return ids


class RetryPoller:
    """A stoppable thread: receive → handler → delete the successes, until `stop()`."""

    def __init__(
        self,
        handler: Handler,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        *,
        region: str = "us-east-1",
        batch_size: int = 10,
        wait_s: int = 1,
        lock: threading.Lock | None = None,
    ) -> None:
        self.handler = handler
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.region = region
        self.batch_size = batch_size
        self.wait_s = wait_s  # short long-polls, so stop() is answered within about a second
        self.lock = lock or threading.Lock()
        self.batches = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> RetryPoller:
        self._thread = threading.Thread(target=self._run, name="retry-poller", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the queue went away or moto hiccuped: say so, wait, go on
                traceback.print_exc(file=sys.stderr)
                self._stop.wait(1.0)

    def poll_once(self) -> int:
        """One receive and one handler call; returns how many messages it handled."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages or self._stop.is_set():
            return 0  # a batch received while stopping just becomes visible again later
        ids = {m["MessageId"] for m in messages}
        try:
            with self.lock:
                result = self.handler(sqs_event(messages, self.queue_arn, self.region), LambdaContext())
            keep = failed_ids(result, ids)
        except Exception:  # Lambda: an error fails the whole batch; the messages come back later
            traceback.print_exc(file=sys.stderr)
            keep = ids
        done = [m for m in messages if m["MessageId"] not in keep]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        self.batches += 1
        return len(messages)
