"""A second line of defence for the logs: values under customer-data and credential keys become "***".

The first line is that log statements name their keys and never hold a body, a user_data value or a
token (the README, "Security"). This one catches a mistake: whatever reaches a Powertools log record under
a key such as `em`, `user_data`, `cookies` or `access_token`, at any depth, is erased before the
line is written. It matches keys, not values: a string message that quotes a value is not caught.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

MASK = "***"
OMITTED_KEYS = ("location", "timestamp", "xray_trace_id")  # Powertools' keys CloudWatch makes redundant
MAX_DEPTH = 32  # deeper than any record we write: whatever lies below is masked whole
# Compared lower-case with "-" read as "_": "X-Api-Key" and "x_api_key" are one key.
SENSITIVE_KEYS = frozenset(
    {
        # Meta's customer information, hashed or not, and its containers
        *("em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge", "external_id"),
        *("client_ip_address", "client_user_agent", "fbp", "fbc", "user_data"),
        # the same data under everyday names
        *("email", "phone", "first_name", "last_name", "name", "address", "city", "zip", "birthdate"),
        *("ip", "source_ip", "sourceip", "user_agent", "x_forwarded_for"),
        # what carries them in a request: bodies, cookies, pages visited
        *("body", "raw_body", "cookie", "cookies", "set_cookie", "event_source_url", "referer"),
        *("referrer_url", "url", "query", "querystringparameters", "rawquerystring"),
        # credentials
        *("access_token", "token", "app_secret", "appsecret_proof", "secret", "password"),
        *("authorization", "x_api_key", "api_key", "api_keys", "hmac_secret", "x_capi_signature"),
    }
)


def is_sensitive(key: object) -> bool:
    """True when a value stored under this key must not be written to a log."""
    return isinstance(key, str) and key.lower().replace("-", "_") in SENSITIVE_KEYS


# A log record's keys are our own names (and field paths made safe): a small set, read on every line
_is_sensitive_key = lru_cache(maxsize=1024)(is_sensitive)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def mask(value: Any, depth: int = 0) -> Any:
    """A copy of a log record (dicts, lists, tuples, any depth) with sensitive keys' values masked.

    A NamedTuple is masked as the mapping it is, by field name: a list of its values would lose the keys.
    """
    if depth > MAX_DEPTH:
        return MASK
    kind = type(value)
    if kind in _SCALARS:  # most of a record: nothing below to mask
        return value
    if kind is dict or isinstance(value, Mapping):
        return {
            key: (MASK if item is not None and _is_sensitive_key(key) else mask(item, depth + 1))
            for key, item in value.items()
        }
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # a NamedTuple (capi_relay.model): by name
        return mask(value._asdict(), depth)
    if isinstance(value, list | tuple | set | frozenset):
        return [mask(item, depth + 1) for item in value]
    return value


def dumps(record: Mapping[str, object]) -> str:
    """Powertools' `json_serializer`: the record masked, then compact JSON like Powertools' own."""
    return json.dumps(mask(record), default=str, separators=(",", ":"), ensure_ascii=False)


def logger(**options: Any) -> Any:
    """A Powertools Logger whose every line goes through `dumps` (service and level from the env).

    Without Powertools' `location` (function:line), `timestamp` and `xray_trace_id` keys: CloudWatch
    bills each byte, stamps every log event itself (@timestamp, what Logs Insights sorts by), and an
    X-Ray id (Lambda sets one in the environment even with tracing off) is 35 bytes.

    Powertools sets up one handler per service, for the first Logger made in the process; a later
    Logger with the same service reuses it. Several functions share a process in local mode and
    tests, so the handler's formatter is made to mask (and to leave those keys out) here even when
    another Logger made it.
    """
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    for key in OMITTED_KEYS:
        options.setdefault(key, None)
    log = Logger(json_serializer=dumps, **options)
    formatter = log.registered_formatter
    # Powertools' own formatter (the one a Logger makes) is the one that has a serializer to swap
    if isinstance(formatter, LambdaPowertoolsFormatter) and formatter.json_serializer is not dumps:
        formatter.json_serializer = dumps
    log_format = getattr(formatter, "log_format", None)
    if isinstance(log_format, dict):
        for key in OMITTED_KEYS:
            if options[key] is None and log_format.get(key) is not None:
                log_format[key] = None  # None: Powertools leaves the key out
    return log
