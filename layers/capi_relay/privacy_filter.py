"""What must not reach the queue or Meta: fields Meta does not define, and contact details left in
free text (custom_data values and key names, URL query strings and fragments).

Customer data belongs in user_data, where it is normalized and hashed. An email address or an
international phone number ("+" form) anywhere else would travel raw to the retry queue, the DLQ and
Meta, so it is removed here, with a warning naming the field (never the value or a caller's key name).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from capi_relay.field_paths import CUSTOM_DATA_FIELDS, EVENT_FIELDS, PLACEHOLDER

URL_FIELDS = ("event_source_url", "referrer_url")
MAX_DEPTH = 32  # parsing limits nesting to 16; deeper is dropped whole, not walked
_EMAIL = re.compile(r"[^\s@<>()\[\]:;,\"'/?#&=]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+\s*\(?\d(?:[\s().-]{0,3}\d){6,14}")  # "+" then 7 to 15 digits, as E.164 allows
_MARKS = ("@", "+", "%40", "%2b", "%2B")  # without one of these a text holds neither


def has_contact(text: str) -> bool:
    """True when the text holds an email address or a "+"-form phone number (percent-encoded or not)."""
    if "@" not in text and "+" not in text and "%" not in text:  # every mark holds one of these
        return False
    if not any(mark in text for mark in _MARKS):
        return False
    if "%" in text:
        text = unquote(text)  # not unquote_plus: a "+" must stay a "+"
    return bool(_EMAIL.search(text) or _PHONE.search(text))


def filter_event(event: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The event without unknown top-level fields or contact details; warnings {"field", "code"}.

    The caller's dicts are not changed: what is changed is copied.
    """
    warnings: list[dict[str, str]] = []
    if not EVENT_FIELDS.issuperset(event):
        kept = {key: value for key, value in event.items() if key in EVENT_FIELDS}
        # one warning for all of them, naming none: a name may be the very data to keep out
        warnings = [{"field": PLACEHOLDER, "code": "unknown_field_dropped"}]
        event = kept
    for field in URL_FIELDS:
        url = event.get(field)
        if isinstance(url, str) and has_contact(url):
            event = {**event, field: clean_url(url)}
            warnings.append({"field": field, "code": "pii_removed"})
    custom = event.get("custom_data")
    if isinstance(custom, dict) and custom and _may_hold_contact(custom, 0):
        cleaned, removed = _clean_container(custom, 0)
        if removed:
            event = {**event, "custom_data": cleaned}
            warnings += [
                {"field": f"custom_data.{name}", "code": "pii_removed"} for name in sorted(set(removed))
            ]
    return event, warnings


def clean_url(url: str) -> str:
    """The URL without the query parameters that hold contact details, and without such a fragment.

    The other parameters are kept byte for byte (utm_*, fbclid): only whole `name=value` pairs go.
    """
    base, hash_mark, fragment = url.partition("#")
    if hash_mark and has_contact(fragment):
        hash_mark = fragment = ""
    path, question, query = base.partition("?")
    if question:
        kept = [pair for pair in query.split("&") if not has_contact(pair)]
        query = "&".join(kept)
        question = "?" if query else ""
    if has_contact(path):  # /users/jo@example.com/, or jo@example.com@shop.example as user info
        scheme, sep, rest = path.partition("://")
        host, slash, _ = rest.partition("/")
        path = f"{scheme}{sep}{host.rpartition('@')[2]}{slash}"
    return f"{path}{question}{query}{hash_mark}{fragment}"


def _clean_container(container: Any, depth: int) -> tuple[Any, list[str]]:
    """(a copy without contact details, names of the top-level keys something was removed under)."""
    removed: list[str] = []
    if isinstance(container, dict):
        out: dict[str, Any] = {}
        for key, value in container.items():
            name = key if key in CUSTOM_DATA_FIELDS else PLACEHOLDER
            if has_contact(key):
                removed.append(PLACEHOLDER)
                continue
            kept, gone = _clean_value(value, depth)
            if gone:
                removed.append(name)
            if kept is not _REMOVED:
                out[key] = kept
        return out, removed
    out_list = []
    for item in container:
        kept, gone = _clean_value(item, depth)
        if gone:
            removed.append(PLACEHOLDER)
        if kept is not _REMOVED:
            out_list.append(kept)
    return out_list, removed


_REMOVED = object()


def _may_hold_contact(container: dict[str, Any] | list[Any], depth: int) -> bool:
    """False when _clean_container would find nothing to remove: no key or text with a mark of an
    address or a phone number, and no container too deep (the common custom_data: ids and prices).

    A scan without copies or regular expressions; True sends the container to _clean_container.
    """
    if type(container) is dict:
        for key in container:
            if "@" in key or "+" in key or "%" in key:
                return True
        values: Any = container.values()
    else:
        values = container
    for value in values:
        kind = type(value)
        if kind is str:
            if "@" in value or "+" in value or "%" in value:
                return True
        elif (kind is dict or kind is list) and (depth >= MAX_DEPTH or _may_hold_contact(value, depth + 1)):
            return True
    return False


def _clean_value(value: Any, depth: int) -> tuple[Any, bool]:
    """(the value, or a cleaned copy, or _REMOVED; whether anything was removed)."""
    if isinstance(value, str):
        return (_REMOVED, True) if has_contact(value) else (value, False)
    if isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            return _REMOVED, True
        cleaned, removed = _clean_container(value, depth + 1)
        return (cleaned, True) if removed else (value, False)
    return value, False
