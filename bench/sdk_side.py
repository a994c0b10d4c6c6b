"""Meta's Python SDK (facebook-business) doing what a hand-written SDK Lambda does with the same body.

Parse the JSON body, build UserData / CustomData / Event objects, wrap them in an EventRequest and take
the exact payload `EventRequest.execute()` would send: `get_params()` runs `EventRequest.normalize()`,
which calls `Event.normalize()` -> `UserData.normalize()` (lowercase, strip, SHA-256) and serializes each
event with json.dumps. We stop before the HTTP call. Comparison only: never a runtime dependency.
"""

from __future__ import annotations

import json


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


def prepare(body: bytes, pixel_id: str) -> bytes:
    """Body in, the serialized request the SDK would POST out (data + test_event_code, no token)."""
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
    request = request_cls(pixel_id=pixel_id, events=events, test_event_code=payload.get("test_event_code"))
    return json.dumps(request.get_params()).encode()


def version() -> str | None:
    """The installed facebook-business version, or None when it is not installed."""
    try:
        from importlib.metadata import version as dist_version

        return dist_version("facebook-business")
    except Exception:
        return None
