"""`make run`: the whole relay on 127.0.0.1 — AWS API server, Graph sandbox, API, retry poller.

Environment (DESIGN.md §4): PORT (3000), META_GRAPH_URL (set it to skip the sandbox and talk to
that Graph API), META_API_VERSION, META_PIXEL_ID (1234567890), META_ACCESS_TOKEN (local-dev-token,
seeded into the local secret and accepted by the sandbox), RETRY_BASE_DELAY_S (5 here; 30 in
Lambda). Also AWS_SERVER_PORT (4566) and SANDBOX_PORT (8089); 0 picks a free port. Any other
handler variable (ALLOWED_ORIGINS, ALLOWED_URL_DOMAINS, DEFAULT_REGION, ...) passes through.
FRONT_DOOR (HttpApi | FunctionUrl) picks the event format, as template.yaml's FrontDoor does;
LOG_FORMAT (JSON | Text) and SYSTEM_LOG_LEVEL (WARN | INFO | DEBUG) emulate its LoggingConfig
(local/log_stream.py: Lambda's START/END/REPORT lines, and the bytes each invocation writes).

Local mode is open (OPEN_RELAY=true) unless RELAY_API_KEYS names keys (a comma list): they are seeded
into the local secret's api_keys and the relay is closed, as a deployed stack is. The secret is read
again on every request here (SECRET_MAX_AGE_S=0), so a key put into it applies at once; in Lambda it
takes up to five minutes.

Ctrl-C or SIGTERM stops everything, the moto subprocess group included. The last line printed at
start-up is `READY {json}` with every URL, for scripts and the e2e tests.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "layers")):  # `python -m local.run` from a fresh clone, no PYTHONPATH
    if _path not in sys.path:
        sys.path.insert(0, _path)

from local import aws  # noqa: E402 - after the path set-up above

DEFAULTS = {
    "PORT": "3000",
    "AWS_SERVER_PORT": "4566",
    "SANDBOX_PORT": "8089",
    "META_API_VERSION": "v24.0",
    "META_PIXEL_ID": "1234567890",
    "META_ACCESS_TOKEN": "local-dev-token",
    "RETRY_BASE_DELAY_S": "5",
    "FRONT_DOOR": "HttpApi",  # template.yaml's defaults, from here down
    "LOG_FORMAT": "JSON",
    "SYSTEM_LOG_LEVEL": "WARN",
}
MEMORY_MB = {"ingest": 128, "retry": 128}  # template.yaml's MemorySize: only the REPORT line shows it
HOST = "127.0.0.1"


def setting(name: str) -> str:
    return os.environ.get(name) or DEFAULTS[name]


def port(name: str) -> int:
    value = int(setting(name))
    return value or aws.free_port()


class LocalStack:
    """Everything `make run` starts, in start order; `stop()` undoes it in reverse, whatever failed."""

    def __init__(self) -> None:
        self.moto: Any = None
        self.sandbox: Any = None
        self.api: Any = None
        self.poller: Any = None
        self.bridge: Any = None
        self.logs: Any = None
        self.info: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        api_port, moto_port = port("PORT"), port("AWS_SERVER_PORT")
        for name, number in (("PORT", api_port), ("AWS_SERVER_PORT", moto_port)):
            _check_free(name, number)
        token = setting("META_ACCESS_TOKEN")
        pixels = [p.strip() for p in setting("META_PIXEL_ID").split(",") if p.strip()]

        api_keys = [key.strip() for key in os.environ.get("RELAY_API_KEYS", "").split(",") if key.strip()]
        self.moto, endpoint = aws.start_moto(moto_port, HOST)
        names = aws.provision(endpoint, token=token, api_keys=api_keys)

        graph_url = os.environ.get("META_GRAPH_URL")
        if not graph_url:
            from local.graph_sandbox import GraphSandbox

            sandbox_port = port("SANDBOX_PORT")
            _check_free("SANDBOX_PORT", sandbox_port)
            self.sandbox = GraphSandbox(HOST, sandbox_port, token=token, pixels=pixels).start()
            graph_url = self.sandbox.url

        api_url = f"http://{HOST}:{api_port}"
        # The handlers read their settings once, at first use: set everything before loading them.
        os.environ.update(aws.handler_env(endpoint, names))
        os.environ.update(
            {
                "META_GRAPH_URL": graph_url,
                "META_API_VERSION": setting("META_API_VERSION"),
                "META_PIXEL_ID": ",".join(pixels),
                "RETRY_BASE_DELAY_S": setting("RETRY_BASE_DELAY_S"),
            }
        )
        os.environ.setdefault("ALLOWED_ORIGINS", f"{api_url},http://localhost:{api_port}")
        os.environ.setdefault("OPEN_RELAY", "false" if api_keys else "true")  # closed once keys are given
        os.environ.setdefault("SECRET_MAX_AGE_S", "0")  # a key put into the local secret applies at once
        os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "capi-relay")
        os.environ.setdefault("METRICS_NAMESPACE", "CapiRelay")
        os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", os.environ["METRICS_NAMESPACE"])

        from local.log_stream import LogStream
        from local.metrics_bridge import MetricsBridge

        self.bridge = MetricsBridge(sys.stdout, aws.client("cloudwatch", endpoint))
        # the functions print EMF (CloudWatch Logs would extract it) and log lines: both are counted
        self.logs = LogStream(
            self.bridge, log_format=setting("LOG_FORMAT"), system_level=setting("SYSTEM_LOG_LEVEL")
        )
        sys.stdout = self.logs

        from local.api_server import ApiServer
        from local.functions import load_handler
        from local.retry_poller import RetryPoller

        lock = threading.Lock()  # one "container": handlers share module state, as in one process
        origins = [o for o in os.environ["ALLOWED_ORIGINS"].split(",") if o.strip()]
        if self.sandbox:  # the example page's stand-in Pixel reports to the Test Events page
            self.sandbox.allow_origins(origins)
        self.api = ApiServer(
            self.logs.wrap(load_handler("ingest"), "ingest", MEMORY_MB["ingest"]),
            HOST,
            api_port,
            allowed_origins=origins,
            lock=lock,
            front_door=setting("FRONT_DOOR"),
            log_stream=self.logs,
        )
        self.api.start()
        self.poller = RetryPoller(
            self.logs.wrap(load_handler("retry"), "retry", MEMORY_MB["retry"]),
            aws.client("sqs", endpoint),
            names["retry_queue_url"],
            names["retry_queue_arn"],
            region=aws.REGION,
            lock=lock,
        )
        self.poller.start()
        self.info = {
            "api": api_url,
            "events_url": f"{api_url}/events",
            "graph_base_url": api_url,  # Meta's SDKs: their Graph URL; POST /{version}/{pixel_id}/events
            "example_page": f"{api_url}/web/example.html"
            + (f"?sandbox={self.sandbox.url}" if self.sandbox else ""),
            "graph_url": graph_url,
            "sandbox": self.sandbox.url if self.sandbox else None,
            "aws_endpoint": endpoint,
            "aws_pid": self.moto.pid,
            "region": aws.REGION,
            "pixel_id": pixels[0] if pixels else None,
            "front_door": setting("FRONT_DOOR"),
            "logs_url": f"{api_url}/_local/logs",
            "open_relay": os.environ["OPEN_RELAY"].strip().lower() in ("1", "true", "yes", "on"),
            **names,
        }
        return self.info

    def stop(self) -> None:
        steps = (self._stop_api, self._stop_poller, self._stop_bridge, self._stop_sandbox, self._stop_moto)
        for step in steps:
            try:
                step()
            except Exception as error:  # keep going: the next part must still be stopped
                sys.stderr.write(f"stopping: {type(error).__name__}: {error}\n")

    def _stop_api(self) -> None:
        if self.api:
            self.api.stop()

    def _stop_poller(self) -> None:
        if self.poller:
            self.poller.stop()

    def _stop_bridge(self) -> None:
        if self.bridge:
            sys.stdout = sys.__stdout__
            self.bridge.close()

    def _stop_sandbox(self) -> None:
        if self.sandbox:
            self.sandbox.stop()

    def _stop_moto(self) -> None:
        if self.moto:
            aws.stop_moto(self.moto)


def _check_free(name: str, number: int) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, number))
        except OSError:
            raise SystemExit(
                f"port {number} on {HOST} is taken: set {name} to another port (0 = any)"
            ) from None


def banner(info: dict[str, Any]) -> str:
    endpoint, queue, dlq = info["aws_endpoint"], info["retry_queue_url"], info["dlq_url"]
    aws_cli = (
        f"AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --endpoint-url {endpoint} "
        f"--region {info['region']}"
    )
    sandbox = (
        f"  Test Events page  {info['sandbox']}/   (JSON: {info['sandbox']}/_sandbox/events)\n"
        if info["sandbox"]
        else f"  Graph API         {info['graph_url']}  (META_GRAPH_URL)\n"
    )
    access = (
        "open (set RELAY_API_KEYS=k1,k2 to try the closed mode a deployed stack has)"
        if info["open_relay"]
        else "closed: send X-Api-Key (RELAY_API_KEYS), or an allowed Origin"
    )
    return f"""
capi-relay local mode — Ctrl-C stops everything
  Access            {access}
  POST events       {info["events_url"]}
  Meta SDKs' Graph  {info["graph_base_url"]}   (POST /v24.0/{{pixel_id}}/events, access_token = API key)
  Example page      {info["example_page"]}
{sandbox}  AWS API (moto)    {endpoint}   retry queue, DLQ, secret {info["secret_id"]}, metrics

Send an event:
  curl -s {info["events_url"]} -H 'content-type: application/json' \\
    -d '{{"event_name":"Purchase","event_source_url":"https://shop.example/thanks","user_data":{{"em":"jo@example.com"}},"custom_data":{{"value":9.99,"currency":"EUR"}}}}'

Look inside (credentials: testing/testing):
  {aws_cli} sqs get-queue-attributes --queue-url {queue} --attribute-names All
  {aws_cli} sqs receive-message --queue-url {dlq} --max-number-of-messages 10
  {aws_cli} cloudwatch list-metrics --namespace CapiRelay
  .venv/bin/python -c "from local.aws import client; print(client('sqs', '{endpoint}').receive_message(QueueUrl='{dlq}', MaxNumberOfMessages=10).get('Messages', []))"
Faults (sandbox):  curl -s {info["sandbox"] or "<sandbox>"}/_sandbox/faults -d '{{"kind":"5xx","rate":0.3}}'
"""  # noqa: E501 - copy-paste lines


def main() -> int:
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    parent = os.getppid()
    stack = LocalStack()
    try:
        info = stack.start()
        print(banner(info), flush=True)
        print("READY " + json.dumps(info), flush=True)
        # Also stop when whoever started us is gone (a killed test run, a closed terminal): never orphaned.
        while not stopping.wait(0.5) and os.getppid() == parent:
            pass
        print("stopping...", flush=True)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
