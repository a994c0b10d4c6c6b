"""Meta's checks on `POST /{version}/{pixel_id}/events`, as the Graph sandbox applies them.

One bad event fails the whole request, as at Meta. Messages name fields and event indexes, never
values. The 2804xxx subcodes are the sandbox's own picks from the Conversions API family (Meta does
not publish a complete list): see `SUBCODES`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

MAX_EVENTS = 1000
WINDOW_S = 7 * 86400
PHYSICAL_STORE_WINDOW_S = 62 * 86400
ACTION_SOURCES = frozenset(
    {
        "email",
        "website",
        "app",
        "phone_call",
        "chat",
        "physical_store",
        "system_generated",
        "business_messaging",
        "other",
    }
)
# Meta: these customer-information keys must arrive SHA-256 hashed (lowercase hex).
HASHED_KEYS = frozenset({"em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge"})
PLAIN_KEYS = frozenset(
    {
        "external_id",
        "client_ip_address",
        "client_user_agent",
        "fbc",
        "fbp",
        "subscription_id",
        "fb_login_id",
        "lead_id",
        "anon_id",
        "madid",
        "page_id",
        "page_scoped_user_id",
        "ctwa_clid",
        "ig_account_id",
        "ig_sid",
    }
)
# Shown in the Test Events page's "match keys" column, in this order.
MATCH_KEYS = (
    "em",
    "ph",
    "fn",
    "ln",
    "db",
    "ge",
    "ct",
    "st",
    "zp",
    "country",
    "external_id",
    "client_ip_address",
    "client_user_agent",
    "fbp",
    "fbc",
)
SUBCODES = {
    "too_old": 2804003,  # event_time older than 7 days (62 for physical_store)
    "future": 2804004,  # event_time in the future
    "no_customer_info": 2804010,  # user_data without any customer-information parameter
    "invalid_parameter": 2804019,  # missing or malformed parameter
    "not_hashed": 2804022,  # a value that must be SHA-256 hashed is not 64 lowercase hex
    "too_many_events": 2804024,  # more than 1000 events in one request
    "purchase": 2804050,  # Purchase without numeric value and ISO 4217 currency
}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


class GraphError(Exception):
    """One Graph error response: HTTP status plus the `error` object Meta sends."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: int,
        subcode: int | None = None,
        kind: str = "OAuthException",
        transient: bool = False,
        title: str | None = None,
        user_msg: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {
            "message": message,
            "type": kind,
            "code": code,
            "is_transient": transient,
        }
        if subcode is not None:
            self.body["error_subcode"] = subcode
        if title:
            self.body["error_user_title"] = title
        if user_msg:
            self.body["error_user_msg"] = user_msg


def _invalid(subcode_key: str, title: str, index: int | None, detail: str) -> GraphError:
    """Meta's permanent rejection of the whole request; `detail` names fields, never values."""
    where = f" (event index {index})" if index is not None else ""
    return GraphError(
        400,
        "Invalid parameter",
        code=100,
        subcode=SUBCODES[subcode_key],
        title=title,
        user_msg=detail + where,
    )


# --- validation, like Meta: the first bad event fails the whole request --------------------------


def validate_events(data: Any, now: float, *, future_skew_s: float = 300) -> list[dict]:
    """Return the events when Meta would accept the request; raise GraphError otherwise."""
    if not isinstance(data, list) or not data:
        raise GraphError(400, "(#100) The parameter data is required and must be a non-empty array", code=100)
    if len(data) > MAX_EVENTS:
        raise _invalid(
            "too_many_events",
            "Too Many Events",
            None,
            f"A request may hold at most {MAX_EVENTS} events; it held {len(data)}.",
        )
    for index, event in enumerate(data):
        _validate_event(event, index, now, future_skew_s)
    return data


def _validate_event(event: Any, index: int, now: float, future_skew_s: float) -> None:
    if not isinstance(event, dict):
        raise _invalid("invalid_parameter", "Invalid Event", index, "Each event must be an object.")
    name = event.get("event_name")
    if not isinstance(name, str) or not name.strip():
        raise _invalid("invalid_parameter", "Missing Event Name", index, "event_name is required.")
    _validate_time(event.get("event_time"), event.get("action_source"), index, now, future_skew_s)
    source = event.get("action_source")
    if source not in ACTION_SOURCES:
        raise _invalid(
            "invalid_parameter",
            "Invalid Action Source",
            index,
            "action_source is required and must be one of Meta's values.",
        )
    user_data = event.get("user_data")
    if not isinstance(user_data, dict):
        raise _invalid("invalid_parameter", "Missing User Data", index, "user_data must be an object.")
    _validate_user_data(user_data, index)
    if source == "website":
        if not isinstance(event.get("event_source_url"), str) or not event["event_source_url"]:
            raise _invalid(
                "invalid_parameter",
                "Missing Event Source URL",
                index,
                "website events need event_source_url.",
            )
        if not isinstance(user_data.get("client_user_agent"), str):
            raise _invalid(
                "invalid_parameter",
                "Missing User Agent",
                index,
                "website events need user_data.client_user_agent.",
            )
    custom = event.get("custom_data")
    if custom is not None and not isinstance(custom, dict):
        raise _invalid("invalid_parameter", "Invalid Custom Data", index, "custom_data must be an object.")
    if name == "Purchase":
        _validate_purchase(custom or {}, index)
    for key, kind in (("event_id", str), ("opt_out", bool), ("data_processing_options", list)):
        if key in event and event[key] is not None and not isinstance(event[key], kind):
            raise _invalid("invalid_parameter", "Invalid Parameter", index, f"{key} has the wrong type.")


def _validate_time(event_time: Any, source: Any, index: int, now: float, future_skew_s: float) -> None:
    if isinstance(event_time, bool) or not isinstance(event_time, int):
        raise _invalid(
            "invalid_parameter",
            "Invalid Event Time",
            index,
            "event_time is required, as an integer of seconds since the epoch.",
        )
    window = PHYSICAL_STORE_WINDOW_S if source == "physical_store" else WINDOW_S
    if event_time < now - window:
        raise _invalid(
            "too_old",
            "Event Timestamp Too Old",
            index,
            "event_time is older than the allowed window (7 days; 62 for physical_store).",
        )
    if event_time > now + future_skew_s:
        raise _invalid("future", "Event Timestamp In The Future", index, "event_time is in the future.")


def _validate_user_data(user_data: dict, index: int) -> None:
    for key, value in user_data.items():
        if key not in HASHED_KEYS and key not in PLAIN_KEYS:
            raise _invalid(
                "invalid_parameter",
                "Invalid User Data",
                index,
                f"user_data.{key} is not a customer-information parameter.",
            )
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str):
                raise _invalid(
                    "invalid_parameter",
                    "Invalid User Data",
                    index,
                    f"user_data.{key} must be a string or a list of strings.",
                )
            if key in HASHED_KEYS and not _SHA256.fullmatch(item):
                raise _invalid(
                    "not_hashed",
                    "Unhashed User Data",
                    index,
                    f"user_data.{key} must be SHA-256 hashed (64 lowercase hex characters).",
                )
        if key == "client_ip_address":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise _invalid(
                    "invalid_parameter",
                    "Invalid IP Address",
                    index,
                    "user_data.client_ip_address is not an IP address.",
                ) from None
    identifying = set(user_data) - {"client_user_agent"}
    if not identifying:
        raise _invalid(
            "no_customer_info",
            "Missing Customer Information",
            index,
            "user_data needs at least one customer-information parameter.",
        )


def _validate_purchase(custom: dict, index: int) -> None:
    value, currency = custom.get("value"), custom.get("currency")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(
            "purchase", "Missing Purchase Value", index, "Purchase events need a numeric custom_data.value."
        )
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise _invalid(
            "purchase",
            "Invalid Currency",
            index,
            "Purchase events need custom_data.currency as an ISO 4217 code.",
        )
