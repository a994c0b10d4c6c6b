"""Defaults and enrichment from the HTTP request, applied only where the caller did not send the field.

DESIGN.md §3. What the browser's request tells us (Referer, User-Agent, IP, the Pixel's cookies) is
used for website events only: a backend's own IP and User-Agent say nothing about its customer.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from capi_relay.client_ip import is_ip_address
from capi_relay.model import IngestRequest, RelayConfig

if TYPE_CHECKING:
    from capi_relay.json_types import JsonObject

MS_THRESHOLD = 100_000_000_000  # 1e11 s is the year 5138, 1e11 ms is 1973: anything above is milliseconds
_FBCLID = re.compile(r"[A-Za-z0-9_-]{1,500}")


_NOT_SENT: tuple[object, ...] = (
    None,
    "",
    [],
)  # a field holding one of these counts as absent: enrichment may fill it


def _event_time(event: JsonObject, now: float, config: RelayConfig, warnings: list[dict[str, str]]) -> None:
    value = event.get("event_time")
    if type(value) is int and value <= now and value < MS_THRESHOLD:  # the common case: kept as sent
        return
    if value is None:
        event["event_time"] = int(now)
        return
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return  # left for validation to refuse
    if value >= MS_THRESHOLD:
        value //= 1000
        warnings.append({"field": "event_time", "code": "event_time_ms"})
    if now < value <= now + config.future_skew_s:
        value = int(now)  # the sender's clock runs a little fast; Meta refuses any future time
        warnings.append({"field": "event_time", "code": "event_time_clamped"})
    event["event_time"] = value


def _client_ip(request: IngestRequest, config: RelayConfig) -> str | None:
    if config.trusted_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",", 1)[0].strip()
        if is_ip_address(first):  # a proxy that forwards garbage: fall back to what API Gateway saw
            return first
    source_ip = (request.source_ip or "").strip()
    return source_ip if is_ip_address(source_ip) else None  # not an IP: Meta would refuse the event


def _fbclid(url: Any) -> str | None:
    if not isinstance(url, str) or "fbclid=" not in url:
        return None
    try:
        values = parse_qs(urlsplit(url).query).get("fbclid") or []
    except ValueError:
        return None
    value = values[0].strip() if values else ""
    return value if _FBCLID.fullmatch(value) else None


def enrich_event(
    event: JsonObject, request: IngestRequest, config: RelayConfig, now: float, *, browser: bool = False
) -> tuple[JsonObject, list[dict[str, str]]]:
    """A copy of the event with defaults filled in, and warnings {"field", "code"} (never values).

    `browser`: the caller was admitted by its Origin alone, so the connection's IP is the only one:
    a client_ip_address in the body is replaced by it.
    """
    event = dict(event)
    warnings: list[dict[str, str]] = []
    user_data = dict(event.get("user_data") or {})
    if browser and user_data.get("client_ip_address") not in (None, ""):
        del user_data["client_ip_address"]
        warnings.append({"field": "user_data.client_ip_address", "code": "client_ip_address_ignored"})
    _event_time(event, now, config, warnings)
    _event_id(event)
    if event.get("action_source") in _NOT_SENT:
        event["action_source"] = "website"
    if event["action_source"] == "website":
        _from_the_browser_request(event, user_data, request, config)
    if user_data.get("fbc") in _NOT_SENT and isinstance(event["event_time"], int):
        _fbc_from_click_id(event, user_data)
    event["user_data"] = user_data
    return event, warnings


def _event_id(event: JsonObject) -> None:
    """One is made when missing: returned to the caller, who reuses it for Pixel deduplication."""
    if event.get("event_id") in _NOT_SENT:
        import uuid  # lazy (~2 ms at cold start): the browser snippet and most backends send event_id

        event["event_id"] = str(uuid.uuid4())
    elif isinstance(event["event_id"], int) and not isinstance(event["event_id"], bool):
        event["event_id"] = str(event["event_id"])


def _from_the_browser_request(
    event: JsonObject, user_data: JsonObject, request: IngestRequest, config: RelayConfig
) -> None:
    """A website event: what the caller left out is taken from the request the browser made."""
    headers, cookies = request.headers, request.cookies
    if event.get("event_source_url") in _NOT_SENT and headers.get("referer"):
        event["event_source_url"] = headers["referer"]
    if user_data.get("client_user_agent") in _NOT_SENT and headers.get("user-agent"):
        user_data["client_user_agent"] = headers["user-agent"]
    if user_data.get("client_ip_address") in _NOT_SENT:
        ip = _client_ip(request, config)
        if ip:
            user_data["client_ip_address"] = ip
    if user_data.get("fbp") in _NOT_SENT and cookies.get("_fbp"):
        user_data["fbp"] = cookies["_fbp"]
    if user_data.get("fbc") in _NOT_SENT and cookies.get("_fbc"):
        user_data["fbc"] = cookies["_fbc"]


def _fbc_from_click_id(event: JsonObject, user_data: JsonObject) -> None:
    """No _fbc cookie, but the page URL carries fbclid: build fbc from it, as the Pixel would."""
    click_id = _fbclid(event.get("event_source_url"))
    if click_id:
        from capi_relay.normalize import build_fbc

        fbc = build_fbc(event["event_time"], click_id)
        if fbc:
            user_data["fbc"] = fbc
