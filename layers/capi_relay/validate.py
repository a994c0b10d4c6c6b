"""Refuse here what Meta would refuse: one bad event fails a whole Graph request (DESIGN.md §3).

Runs on an enriched, normalized event. Every finding is a FieldError naming the field and a stable
code; messages may quote Meta's rules and our own constants, never what the caller sent.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from capi_relay.errors import FieldError

if TYPE_CHECKING:
    from capi_relay.json_types import JsonObject

# fmt: off
# Meta's standard events; their names are case-sensitive ("purchase" is a custom event there).
STANDARD_EVENTS = (
    "AddPaymentInfo", "AddToCart", "AddToWishlist", "CompleteRegistration", "Contact", "CustomizeProduct",
    "Donate", "FindLocation", "InitiateCheckout", "Lead", "Purchase", "Schedule", "Search", "StartTrial",
    "SubmitApplication", "Subscribe", "ViewContent", "PageView",
)
_STANDARD = frozenset(STANDARD_EVENTS)
_STANDARD_BY_FOLDED = {name.lower(): name for name in STANDARD_EVENTS}
MAX_CUSTOM_NAME = 50
ACTION_SOURCES = (
    "email", "website", "app", "phone_call", "chat", "physical_store", "system_generated",
    "business_messaging", "other",
)
WINDOW_S = 7 * 86400  # Meta: one event_time older than 7 days fails the whole request
PHYSICAL_STORE_WINDOW_S = 62 * 86400
# Meta's customer-information parameters: any one of these identifies the person...
CUSTOMER_KEYS = frozenset({
    "em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge", "external_id", "fbc", "fbp",
    "subscription_id", "fb_login_id", "lead_id", "anon_id", "madid", "page_scoped_user_id", "ctwa_clid",
    "ig_sid",
})
# ...and these two only together.
IP_UA = ("client_ip_address", "client_user_agent")
DPO_COUNTRIES = (0, 1)  # 0: Meta geolocates; 1: the United States
DPO_STATES = (0, 1000)  # 0: Meta geolocates; 1000: California
# fmt: on
_CURRENCY_FILE = Path(__file__).with_name("data") / "iso4217_currencies.txt"
_EMPTY: tuple[object, ...] = (None, "", [])  # a customer-information key holding one of these does not count
_WEB_PREFIXES = ("https://", "http://")


@cache
def currencies() -> frozenset[str]:
    """ISO 4217 codes from the data file (read once, on the first Purchase)."""
    lines = _CURRENCY_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def window_s(action_source: Any) -> int:
    """How far back Meta takes an event_time for this action_source."""
    return PHYSICAL_STORE_WINDOW_S if action_source == "physical_store" else WINDOW_S


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_event(event: JsonObject, index: int, now: float) -> list[FieldError]:
    """Every reason Meta would refuse this event (empty when it would take it)."""
    errors: list[FieldError] = []

    def error(field: str, code: str, message: str) -> None:
        errors.append(FieldError(index, field, code, message))

    _event_name(event.get("event_name"), error)
    source = event.get("action_source")
    if source not in ACTION_SOURCES:
        error("action_source", "action_source_invalid", "must be one of " + ", ".join(ACTION_SOURCES))
    _event_time(event.get("event_time"), source, now, error)
    event_id = event.get("event_id")
    if event_id is not None and not isinstance(event_id, str):
        error("event_id", "event_id_invalid", "must be a string")
    user_data = event.get("user_data") or {}
    url = event.get("event_source_url")
    if url is not None and not isinstance(url, str):
        error("event_source_url", "event_source_url_invalid", "must be a string")
    elif source == "website":
        if not url:
            error("event_source_url", "event_source_url_required", "website events need the page URL")
        elif not _is_web_url(url):
            error("event_source_url", "event_source_url_invalid", "must be an http(s) URL")
        if not user_data.get("client_user_agent"):
            error(
                "user_data.client_user_agent",
                "client_user_agent_required",
                "website events need the browser's User-Agent",
            )
    # Meta: a Purchase needs value and currency; anywhere else they must still be well-formed
    _money(event.get("custom_data") or {}, error, required=event.get("event_name") == "Purchase")
    if not _has_customer_information(user_data):
        error(
            "user_data",
            "customer_information_missing",
            "send at least one customer-information parameter (em, ph, external_id, fbp, fbc, "
            "client_ip_address with client_user_agent, ...)",
        )
    _privacy(event, error)
    return errors


def _event_name(name: Any, error: Any) -> None:
    if name is None or name == "":
        error("event_name", "event_name_missing", "event_name is required")
    elif not isinstance(name, str) or not name.strip():
        error("event_name", "event_name_invalid", "must be a non-empty string")
    elif name not in _STANDARD:
        standard = _STANDARD_BY_FOLDED.get(name.strip().lower())
        if standard is not None:
            message = f'standard event names are case-sensitive: use "{standard}"'
            error("event_name", "event_name_case", message)
        elif len(name) > MAX_CUSTOM_NAME:
            message = f"custom event names are at most {MAX_CUSTOM_NAME} characters"
            error("event_name", "event_name_too_long", message)


def _event_time(event_time: Any, source: Any, now: float, error: Any) -> None:
    if isinstance(event_time, bool) or not isinstance(event_time, int) or event_time <= 0:
        error("event_time", "event_time_invalid", "must be an integer of seconds since the epoch")
    elif event_time < now - window_s(source):
        days = window_s(source) // 86400
        error("event_time", "event_time_too_old", f"Meta takes events at most {days} days old")
    elif event_time > now:
        error("event_time", "event_time_future", "event_time is in the future")


def _is_web_url(url: str) -> bool:
    """Whether urlsplit sees an http(s) scheme and a host: what Meta checks event_source_url for."""
    if (
        url.startswith(_WEB_PREFIXES)
        and url.isascii()
        and url.isprintable()
        and "[" not in url  # "[" or "]" may be an IPv6 host, which urlsplit checks
        and "]" not in url
    ):
        # what a page sends: urlsplit would neither strip nor refuse anything here, so its host
        # is whatever follows "//" up to the first / ? or #
        host_start = url.index("//") + 2
        return len(url) > host_start and url[host_start] not in "/?#"
    return _is_web_url_by_urlsplit(url)  # the rest (tabs, IPv6 brackets, other schemes, Unicode)


def _is_web_url_by_urlsplit(url: str) -> bool:
    """`_is_web_url` without its shortcut: urlsplit itself decides (what the shortcut must agree with)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _money(custom: JsonObject, error: Any, required: bool = False) -> None:
    value, currency = custom.get("value"), custom.get("currency")
    if value is None and required:
        error("custom_data.value", "value_required", "Purchase events need a numeric value")
    elif value is not None and not is_number(value):
        error("custom_data.value", "value_invalid", "must be a number")
    if currency is None and required:
        error("custom_data.currency", "currency_required", "Purchase events need an ISO 4217 currency")
    elif currency is not None and not (isinstance(currency, str) and currency.upper() in currencies()):
        error("custom_data.currency", "currency_invalid", "must be an ISO 4217 code such as USD or EUR")


def _has_customer_information(user_data: JsonObject) -> bool:
    for key, value in user_data.items():  # a dozen keys at most, usually stopping at the first
        if key in CUSTOMER_KEYS and value not in _EMPTY:
            return True
    return all(user_data.get(key) for key in IP_UA)


_PRIVACY_FIELDS = frozenset(
    {"opt_out", "data_processing_options", "data_processing_options_country", "data_processing_options_state"}
)


def _privacy(event: JsonObject, error: Any) -> None:
    if _PRIVACY_FIELDS.isdisjoint(event):  # most events send none of them: nothing to check
        return
    opt_out = event.get("opt_out")
    if opt_out is not None and not isinstance(opt_out, bool):
        error("opt_out", "opt_out_invalid", "must be true or false")
    options = event.get("data_processing_options")
    if options is not None and not (
        isinstance(options, list) and all(isinstance(o, str) and o == "LDU" for o in options)
    ):
        error("data_processing_options", "data_processing_options_invalid", 'must be [] or ["LDU"]')
    for key, allowed in (
        ("data_processing_options_country", DPO_COUNTRIES),
        ("data_processing_options_state", DPO_STATES),
    ):
        value = event.get(key)
        if value is not None and not (type(value) is int and value in allowed):
            error(key, f"{key}_invalid", "must be one of " + ", ".join(map(str, allowed)))
