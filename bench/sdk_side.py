"""Meta's Python SDK (facebook-business) doing what a hand-written SDK Lambda does with the same body.

Two figures, both parsing the JSON body and building UserData / CustomData / Event objects in an
EventRequest with the same code. Then:
- `prepare` stops at `json.dumps(EventRequest.get_params())`: `get_params()` runs
  `EventRequest.normalize()`, which calls `Event.normalize()` -> `UserData.normalize()` (lowercase, strip,
  SHA-256) and serializes each event with json.dumps. It leaves out the rest of `execute()` (issue 17's
  targets are defined on this figure).
- `execute_to_requests` runs `EventRequest.execute()` itself: `AdsPixel.create_event` -> `FacebookRequest`
  (the TypeChecker on the params) -> `FacebookAdsApi.call` (top-level JSON encoding) ->
  `session.requests.request(...)`, which an in-memory stand-in for `requests.Session` answers like Meta,
  and after it the SDK's own handling of the answer (FacebookResponse, ObjectParser, EventResponse). It
  stops where our side (bench/relay_side.py) stops: at the call into `requests`.
Comparison only: never a runtime dependency.
"""

from __future__ import annotations

import json
from typing import Any


def _load():
    """Import lazily so `bench.run` can report a missing SDK instead of crashing at import time."""
    from facebook_business.adobjects.serverside.action_source import ActionSource
    from facebook_business.adobjects.serverside.custom_data import CustomData
    from facebook_business.adobjects.serverside.event import Event
    from facebook_business.adobjects.serverside.event_request import EventRequest
    from facebook_business.adobjects.serverside.user_data import UserData

    return ActionSource, CustomData, Event, EventRequest, UserData


def _one(value):
    return None if value is None else [value]


def _event_request(body: bytes, pixel_id: str) -> Any:
    """The EventRequest a hand-written SDK Lambda builds from the body: shared by both figures."""
    action_source, custom_data_cls, event_cls, request_cls, user_data_cls = _load()
    payload = json.loads(body)
    events = []
    for raw in payload["data"]:
        ud, cd = raw.get("user_data", {}), raw.get("custom_data") or {}
        user_data = user_data_cls(
            emails=_one(ud.get("em")),
            phones=_one(ud.get("ph")),
            first_names=_one(ud.get("fn")),
            last_names=_one(ud.get("ln")),
            cities=_one(ud.get("ct")),
            states=_one(ud.get("st")),
            zip_codes=_one(ud.get("zp")),
            country_codes=_one(ud.get("country")),
            external_ids=_one(ud.get("external_id")),
            fbp=ud.get("fbp"),
            fbc=ud.get("fbc"),
            client_ip_address=ud.get("client_ip_address"),
            client_user_agent=ud.get("client_user_agent"),
        )
        custom_data = custom_data_cls(
            value=cd.get("value"),
            currency=cd.get("currency"),
            content_ids=cd.get("content_ids"),
            content_type=cd.get("content_type"),
        )
        events.append(
            event_cls(
                event_name=raw["event_name"],
                event_time=raw["event_time"],
                event_id=raw.get("event_id"),
                event_source_url=raw.get("event_source_url"),
                action_source=action_source(raw.get("action_source", "website")),
                user_data=user_data,
                custom_data=custom_data,
            )
        )
    return request_cls(pixel_id=pixel_id, events=events, test_event_code=payload.get("test_event_code"))


def prepare(body: bytes, pixel_id: str) -> bytes:
    """Body in, the serialized request the SDK would POST out (data + test_event_code, no token)."""
    return json.dumps(_event_request(body, pixel_id).get_params()).encode()


class _MetaAnswer:
    """Just enough of a requests.Response for FacebookAdsApi.call: what Meta answers to a good POST."""

    status_code = 200
    headers: dict = {"content-type": "application/json; charset=UTF-8"}  # noqa: RUF012 - read-only

    def __init__(self, received: int) -> None:
        self._received = received
        self.text = f'{{"events_received": {received}, "messages": [], "fbtrace_id": "bench"}}'

    def json(self) -> dict:
        return {"events_received": self._received, "messages": [], "fbtrace_id": "bench"}


class InMemoryRequests:
    """Stands in for the `requests.Session` of the SDK's FacebookSession, as bench/relay_side.py's
    InMemorySession does for ours: keeps what the SDK hands to `requests` and answers like Meta, without
    parsing what it was sent (that would be the bench's work, timed as the SDK's)."""

    # one event in the form-encoded `data` param, a JSON list of JSON strings: `"{\"event_name\": ...`
    _EVENT_MARK = '\\"event_name\\"'

    def __init__(self) -> None:
        self.last_params: dict = {}

    def request(self, method: str, url: str, data: dict | None = None, **_: Any) -> _MetaAnswer:
        self.last_params = data or {}
        return _MetaAnswer(self.last_params.get("data", "").count(self._EVENT_MARK))

    def close(self) -> None:
        """Nothing to release."""


_stand_in: InMemoryRequests | None = None


def _in_memory_requests() -> InMemoryRequests:
    """Once a process, as a warm Lambda container would: the SDK's default API (what
    `EventRequest.execute()` goes through) with its requests.Session swapped for the stand-in."""
    global _stand_in
    if _stand_in is None:
        from facebook_business.api import FacebookAdsApi

        # crash_log=False: the SDK's crash reporter would hook sys.excepthook and post crashes to Meta
        api = FacebookAdsApi.init(access_token="bench-token", crash_log=False)
        api._session.requests.close()
        _stand_in = InMemoryRequests()
        api._session.requests = _stand_in
    return _stand_in


def execute_to_requests(body: bytes, pixel_id: str) -> dict:
    """Body in, through `EventRequest.execute()` and back, the params the SDK handed to `requests` out:
    `data`, the events as one JSON string (requests would form-encode it and add the token from the
    session's params, past where both sides stop)."""
    stand_in = _in_memory_requests()
    request = _event_request(body, pixel_id)
    response = request.execute()
    if response.events_received != len(request.events):
        raise RuntimeError(
            f"Meta stand-in received {response.events_received} of {len(request.events)} events"
        )
    return stand_in.last_params


def version() -> str | None:
    """The installed facebook-business version, or None when it is not installed."""
    try:
        from importlib.metadata import version as dist_version

        return dist_version("facebook-business")
    except Exception:
        return None
