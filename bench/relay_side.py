"""Our side of the per-event comparison: the real `capi_relay.relay_request()` on the same body, minus the
socket.

relay_request() parses, checks shapes, enriches, validates, normalizes and hashes, batches, and hands the
ready events to MetaClient.send, which builds and serializes the Graph request. The only thing swapped is the
client's HTTP session, for one that keeps the serialized body in memory and answers like Meta: so what
we time is exactly what a Lambda invocation does up to the call into `requests`, and its handling of the
answer. bench/sdk_side.py's `execute_to_requests` stops at the same place (the SDK's requests.Session
swapped the same way); its `prepare`, the figure issue 17's targets are defined on, stops earlier, at
`json.dumps(EventRequest.get_params())`, before the SDK's own request path.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

from bench.events import PIXEL_ID

BENCH_API_KEY = "bench-api-key-0123456789"


class _Answer:
    """Just enough of a requests.Response for MetaClient.send."""

    status_code = 200
    headers: dict = {}  # noqa: RUF012 - read-only stand-in

    def __init__(self, received: int) -> None:
        self._received = received

    def json(self) -> dict:
        return {"events_received": self._received, "fbtrace_id": "bench", "messages": []}


class InMemorySession:
    """Takes the POST MetaClient would send, keeps its body (`prepare` returns it), answers like Meta."""

    def __init__(self) -> None:
        self.last_body: bytes = b""

    def post(self, url: str, data: bytes, timeout: Any = None, **_: Any) -> _Answer:
        self.last_body = data
        return _Answer(data.count(b'"event_name"'))

    def close(self) -> None:
        """Nothing to release."""


class _NullSink:
    def retry(self, message: dict) -> None:
        raise AssertionError("the bench never queues: every event must reach the in-memory Meta")

    def dead_letter(self, message: dict) -> None:
        raise AssertionError("the bench never dead-letters")


@contextlib.contextmanager
def quiet_container() -> Iterator[None]:
    """Bodies read with json, as in a container that has not written json_codec.FAST_AFTER_EVENTS events
    yet (json_codec's per-container state, set aside and put back: the bench's own reach inside)."""
    from capi_relay import json_codec

    busy = json_codec._orjson
    json_codec._orjson = None
    try:
        yield
    finally:
        json_codec._orjson = busy


class RelayPipeline:
    """relay_request() wired for the bench: one config and one client reused, as in a warm Lambda
    container. `quiet`: its Graph bodies are always written with json (a container that has not yet
    written json_codec.FAST_AFTER_EVENTS events); run it inside quiet_container() so bodies are read
    with json too."""

    def __init__(self, default_region: str | None = None, *, quiet: bool = False) -> None:
        from capi_relay import Credentials, IngestRequest, MetaClient, RelayConfig, relay_request
        from capi_relay.json_codec import GraphBodyWriter

        self._relay = relay_request
        self._request_cls = IngestRequest
        self.config = RelayConfig(
            pixel_ids=(PIXEL_ID,),
            default_region=default_region,
            allowed_origins=("https://shop.example.com",),
            allowed_url_domains=("shop.example.com",),
            api_keys=(BENCH_API_KEY,),
        )
        self.client = MetaClient("http://127.0.0.1:9", "v24.0")  # never contacted: the session is swapped
        self.client._session.close()
        self.session = InMemorySession()
        self.client._session = self.session
        if quiet:
            self.client._write = GraphBodyWriter(fast_after_events=sys.maxsize)
        credentials = Credentials(access_token="bench-token")
        self._credentials = lambda pixel_id, force_refresh: credentials
        self._sink = _NullSink()

    def request(self, body: bytes) -> Any:
        """A backend's batch (several events) carries an API key; the browser snippet's single event
        comes with an Origin and passes the origin and URL-domain checks, as in production."""
        headers = {"content-type": "application/json", "user-agent": "capi-relay-bench/1.0"}
        # a second event makes it a batch; found without scanning the whole body, since this runs
        # inside the timed call and is the bench's own work, not relay_request()'s
        first = body.find(b'"event_name"')
        if body.find(b'"event_name"', first + 1) != -1:
            headers["x-api-key"] = BENCH_API_KEY
        else:
            headers["origin"] = "https://shop.example.com"
        return self._request_cls(body=body, headers=headers, source_ip="203.0.113.7")

    def _run(self, body: bytes, now: float) -> Any:
        return self._relay(
            self.request(body),
            config=self.config,
            client=self.client,
            credentials=self._credentials,
            sink=self._sink,
            now=now,
        )

    def prepare(self, body: bytes, now: float) -> bytes:
        """Body in, the serialized Graph request out (the bytes MetaClient would POST)."""
        result = self._run(body, now)
        if result.status != 200:
            raise RuntimeError(f"relay answered {result.status}: {json.dumps(result.body)[:300]}")
        return self.session.last_body

    @property
    def codec(self) -> str:
        """Which library writes this pipeline's Graph bodies now: "json" or "orjson"."""
        return str(self.client._write.codec)

    def check(self, body: bytes, now: float) -> dict:
        """One run, summarized: how many events went out, and which warnings relay_request() raised (codes
        only)."""
        result = self._run(body, now)
        codes: dict[str, int] = {}
        for warning in result.warnings:
            key = f"{warning.get('field')}:{warning.get('code')}"
            codes[key] = codes.get(key, 0) + 1
        return {"status": result.status, "sent": result.sent, "rejected": result.rejected, "warnings": codes}


# relay_request()'s steps, as the names it calls them by in capi_relay/relay.py (disjoint: none calls another)
STAGES = (
    "authenticate_caller",
    "parse_body",
    "check_browser_capability",
    "check_event_sources",
    "enrich_event",
    "filter_event",
    "apply_consent",
    "normalize_user_data",
    "validate_event",
    "deliver",
    "_result",
)


def stage_times(pipeline: RelayPipeline, bodies: list[bytes], now: float) -> dict:
    """CPU µs per event spent in each step of relay_request(), timed without a profiler (one body per round).

    Each step named in STAGES is wrapped, in the bench process only, by a clock; the rest of relay_request()
    is `other`. A step the domain no longer has is reported as missing, not guessed.
    """
    import time

    import capi_relay.relay as module

    spent: dict[str, int] = dict.fromkeys(STAGES, 0)
    originals = {name: getattr(module, name) for name in STAGES if hasattr(module, name)}

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time_ns()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.thread_time_ns() - start

        return wrapper

    events = 0
    total = 0
    try:
        for name, function in originals.items():
            setattr(module, name, timed(name, function))
        for body in bodies:
            events += body.count(b'"event_name"')
            start = time.thread_time_ns()
            pipeline.prepare(body, now)
            total += time.thread_time_ns() - start
    finally:
        for name, function in originals.items():
            setattr(module, name, function)
    per_event = {name: spent[name] / events / 1e3 for name in originals}
    per_event["other"] = (total - sum(spent.values())) / events / 1e3
    return {
        "total_us_per_event": total / events / 1e3,
        "us_per_event": per_event,
        "missing": [name for name in STAGES if name not in originals],
    }
