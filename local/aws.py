"""A real AWS API on localhost (moto in server mode) holding what the template creates.

Local mode and the integration tests share this module so that both run against the same queue
names, redrive policy and secret shape as a deployed stack (docs/CONTRACTS.md, "Names").
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # moto accepts any
MAX_RECEIVES = 12  # template: Parameter RetryMaxAttempts → RedrivePolicy.maxReceiveCount


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_moto(port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start `python -m moto.server` in its own process group and wait until it answers.

    Server mode (not moto's in-process decorators) so that every boto3 call really goes over HTTP,
    exactly like the handlers do in Lambda.
    """
    endpoint = f"http://{host}:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # stop_moto kills the whole group: nothing is left behind
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with code {proc.returncode} (port {port} taken?)")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1):  # noqa: S310
                return proc, endpoint
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    stop_moto(proc)
    raise TimeoutError(f"moto server did not answer on {endpoint} within {timeout} s")


def stop_moto(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate the moto process group; kill it if it does not go in time."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        proc.wait(timeout=timeout)


def client(service: str, endpoint: str, region: str = REGION) -> Any:
    """A boto3 client for the local server (explicit endpoint and dummy credentials, no env needed)."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=region, **CREDENTIALS)


def provision(
    endpoint: str,
    prefix: str = "capi-relay",
    token: str = "local-dev-token",  # noqa: S107 - a local server's dummy token
    *,
    app_secret: str | None = None,
    pixels: dict[str, str] | None = None,
    api_keys: list[str] | None = None,
    hmac_secret: str | None = None,
    max_receives: int = MAX_RECEIVES,
    visibility_timeout: int = 360,
    region: str = REGION,
) -> dict[str, str]:
    """Create (or update) the retry queue, the DLQ and the secret the way template.yaml does.

    Idempotent: calling it again re-applies attributes and overwrites the secret value, so a test
    can reset the token. Returns the names the handlers' environment needs.
    """
    sqs = client("sqs", endpoint, region)
    sse = {"SqsManagedSseEnabled": "true"}
    dlq_url = sqs.create_queue(
        QueueName=f"{prefix}-dlq", Attributes={"MessageRetentionPeriod": "1209600", **sse}
    )["QueueUrl"]
    dlq_arn = queue_arn(sqs, dlq_url)
    retry_attributes = {
        "VisibilityTimeout": str(visibility_timeout),
        "MessageRetentionPeriod": "604800",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}),
        **sse,
    }
    retry_url = sqs.create_queue(QueueName=f"{prefix}-retry")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=retry_url, Attributes=retry_attributes)
    retry_arn = queue_arn(sqs, retry_url)
    secret_id = f"{prefix}/meta"
    put_secret(
        endpoint,
        secret_id,
        secret_value(token, app_secret=app_secret, pixels=pixels, api_keys=api_keys, hmac_secret=hmac_secret),
        region=region,
    )
    return {
        "retry_queue_url": retry_url,
        "retry_queue_arn": retry_arn,
        "dlq_url": dlq_url,
        "dlq_arn": dlq_arn,
        "secret_id": secret_id,
    }


def queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def secret_value(
    token: str,
    *,
    app_secret: str | None = None,
    pixels: dict[str, str] | None = None,
    api_keys: list[str] | None = None,
    hmac_secret: str | None = None,
) -> dict:
    """The secret's JSON (docs/CONTRACTS.md): optional keys only when given."""
    value: dict[str, Any] = {"access_token": token}
    if app_secret:
        value["app_secret"] = app_secret
    if pixels:
        value["pixels"] = {pixel: {"access_token": tok} for pixel, tok in pixels.items()}
    if api_keys:
        value["api_keys"] = list(api_keys)
    if hmac_secret:
        value["hmac_secret"] = hmac_secret
    return value


def put_secret(endpoint: str, secret_id: str, value: dict, region: str = REGION) -> None:
    """Create the secret or store a new version of it (what `aws secretsmanager put-secret-value` does)."""
    sm = client("secretsmanager", endpoint, region)
    try:
        sm.create_secret(Name=secret_id, SecretString=json.dumps(value))
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=secret_id, SecretString=json.dumps(value))


def purge(endpoint: str, *queue_urls: str, region: str = REGION) -> None:
    """Empty queues between tests (moto applies PurgeQueue at once)."""
    sqs = client("sqs", endpoint, region)
    for url in queue_urls:
        sqs.purge_queue(QueueUrl=url)


def handler_env(endpoint: str, names: dict[str, str], region: str = REGION) -> dict[str, str]:
    """The AWS part of the handlers' environment for a provisioned local server."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "SECRET_ID": names["secret_id"],
        "RETRY_QUEUE_URL": names["retry_queue_url"],
        "DLQ_URL": names["dlq_url"],
        "RETRY_MAX_ATTEMPTS": str(MAX_RECEIVES),
    }
