"""Real-shaped Lambda events and context for the handlers, built from the samples in events/."""

from __future__ import annotations

import base64
import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"
FRONT_DOOR = "HttpApi"  # "FunctionUrl": http_event() builds a function URL's event (conftest's `front_door`)


@dataclass
class LambdaContext:
    """The part of Lambda's context object Powertools reads."""

    function_name: str = "capi-relay-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:capi-relay-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/capi-relay-test"
    log_stream_name: str = "2026/11/25/[$LATEST]abcdef"
    remaining_ms: int = 20_000  # the function's timeout (template: 20 s); counts down like Lambda's
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms - int((time.monotonic() - self.started) * 1000)


def sample(name: str) -> dict:
    """A fresh copy of events/<name>."""
    return json.loads((EVENTS / name).read_text())


def http_event(
    body: Any = None,
    *,
    sample_name: str = "single.json",
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    query: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict:
    """An HTTP API v2 request from events/<sample_name>, changed only where the test says.

    `body`: a dict/list is sent as JSON, str/bytes as they are, None keeps the sample's body.
    """
    event = copy.deepcopy(sample(sample_name))
    if body is not None:
        raw = (
            body
            if isinstance(body, bytes)
            else (body if isinstance(body, str) else json.dumps(body)).encode()
        )
        event["headers"]["content-length"] = str(len(raw))
        if base64_body:
            event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
        else:
            event["body"], event["isBase64Encoded"] = raw.decode("utf-8", "surrogateescape"), False
    event["headers"].update(headers or {})
    if cookies is not None:
        event["cookies"] = cookies
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if FRONT_DOOR == "FunctionUrl":
        from local.api_server import function_url_event

        return function_url_event(event)
    return event


SERVER_KEY = "k_integration_backend_5d1f0c"  # the `server` fixture puts it in the secret


def server_event(body: Any = None, **kwargs: Any) -> dict:
    """The sample request as a backend sends it: no Origin, the API key (a server's full capability)."""
    headers = {"x-api-key": SERVER_KEY, **kwargs.pop("headers", {})}
    event = http_event(body, headers=headers, **kwargs)
    event["headers"].pop("origin", None)
    return event


def sqs_event(messages: list[dict], receive_count: int | None = None) -> dict:
    """The SQS → Lambda event for messages received from the retry queue (shape of sqs_retry_batch.json)."""
    template = sample("sqs_retry_batch.json")["Records"][0]
    records = []
    for message in messages:
        record = copy.deepcopy(template)
        attributes = dict(message.get("Attributes") or {})
        if receive_count is not None:
            attributes["ApproximateReceiveCount"] = str(receive_count)
        record.update(
            messageId=message["MessageId"],
            receiptHandle=message["ReceiptHandle"],
            body=message["Body"],
            md5OfBody=message["MD5OfBody"],
            attributes={**record["attributes"], **attributes},
        )
        records.append(record)
    return {"Records": records}


def log_lines(text: str) -> list[dict]:
    """JSON lines of captured stdout: Powertools log records and EMF metric blobs."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def emitted_metrics(text: str) -> dict[str, float]:
    """Sum of every EMF metric value printed, by name, plus the dimension sets used."""
    totals: dict[str, float] = {}
    for blob in log_lines(text):
        if "_aws" not in blob:
            continue
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    return totals
