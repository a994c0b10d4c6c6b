"""Body → events: JSON, limits and shapes, checked before anything reads a value (DESIGN.md §3).

Request-wide faults (not JSON, too big, too many events) raise BadRequest / PayloadTooLarge; a bad
event only earns FieldErrors with its index, so the other events of a batch still go.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from capi_relay.errors import BadRequest, FieldError, PayloadTooLarge
from capi_relay.field_paths import KNOWN, PLACEHOLDER, safe_path
from capi_relay.json_codec import busy_loads, orjson_reads_as_json
from capi_relay.model import EMPTY, REQUEST_OPTIONS, RelayConfig

if TYPE_CHECKING:
    from capi_relay.json_types import JsonObject

_LONG_STRINGS = frozenset({"event_source_url", "referrer_url"})  # URLs: up to config.max_url
_CONTAINERS = (dict, list)
_SCALARS = frozenset({int, float, bool, type(None)})  # json.loads's other types (str aside)
_OBJECT_FIELDS = frozenset({"user_data", "custom_data"})  # must be objects (or null)
# the body's top-level keys that speak for the whole request, not for an event
_REQUEST_WIDE = frozenset({"test_event_code", "pixel_id", "consent", *REQUEST_OPTIONS})


class ParsedBody(NamedTuple):
    """The events of a request (in order) and the request-wide options that came with them."""

    events: list[Any]
    errors: list[FieldError]  # shape errors, by event index; those events are not to be used
    test_event_code: str | None
    pixel_id: str | int | None
    consent: Any  # the top-level "consent" object, unread (capi_relay.consent reads it)
    options: Mapping[str, str] = EMPTY  # partner_agent, upload_tag, …: for Meta


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 → inf, which no JSON encoder can send on
        raise ValueError("number out of range")
    return value


class HugeInt(int):
    """An integer JSON can carry but Meta cannot (beyond a double's range): the event naming it gets a 400.

    Its own type, so the shape checks (which judge values by exact type) find it with its path.
    """


_FLOAT_MAX = int(sys.float_info.max)
_UTF8_BOM = b"\xef\xbb\xbf"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # how a lone surrogate can hide in valid UTF-8


def _int(text: str) -> int:
    if len(text) < 309:  # fewer than 309 digits: within a double's range (~1.8e308)
        return int(text)
    value = int(text)  # over 4,300 digits: ValueError (Python's limit), an invalid_json 400
    return HugeInt(value) if abs(value) > _FLOAT_MAX else value


# json.loads with keyword arguments builds a new JSONDecoder on every call: this one is built once,
# and its scanner is called directly (JSONDecoder.decode adds two frames and two regex matches)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite, parse_int=_int)
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_JSON_SPACE = " \t\n\r"  # JSON's whitespace (RFC 8259), what JSONDecoder.decode skips around a document


def load_json(text: str) -> Any:
    """json.loads(text, parse_constant=..., parse_float=..., parse_int=...), with the decoder built once."""
    document = text.strip(_JSON_SPACE)
    try:
        value, end = _SCAN(document, 0)
    except StopIteration as stop:
        raise json.JSONDecodeError("Expecting value", document, stop.value) from None
    if end != len(document):
        raise json.JSONDecodeError("Extra data", document, end)
    return value


def _request_error(code: str, message: str, field: str = "body") -> BadRequest:
    return BadRequest([FieldError(None, field, code, message)])


def _text(body: bytes) -> str:
    """The body as text: strict UTF-8 (a UTF-8 BOM is tolerated); UTF-16 and broken bytes are a 400."""
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    if b"\x00" in body:  # JSON text never holds a raw NUL; UTF-16 and UTF-32 text is full of them
        raise _request_error("encoding_invalid", "the body must be UTF-8 JSON, not UTF-16 or UTF-32")
    try:
        return body.decode("utf-8")  # strict: surrogates encoded as UTF-8 bytes are refused too
    except UnicodeDecodeError:
        raise _request_error("encoding_invalid", "the body must be UTF-8 JSON") from None


def _read_busy(body: bytes) -> Any:
    """The body's value as orjson reads the raw bytes, in a busy container (json_codec), or _UNREAD.

    orjson refuses every body the path below refuses (broken or non-strict UTF-8, a raw NUL, a lone
    surrogate, NaN, numbers beyond a double, deep nesting), and a few it takes (a UTF-8 BOM); it reads
    the rest as json does, except integers past 64 bits (orjson_reads_as_json). Whenever it refuses,
    the path below decides.
    """
    fast = busy_loads()
    if fast is None or not orjson_reads_as_json(body):
        return _UNREAD
    try:
        return fast(body)
    except (ValueError, RecursionError):  # orjson's JSONDecodeError is a ValueError
        return _UNREAD


_UNREAD = object()


@cache
def _surrogate() -> re.Pattern[str]:
    """Any surrogate code point; compiled by the first body that escapes one (~0.4 ms a cold start)."""
    return re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a parsed value holds an unpaired surrogate ("\\ud800"): no UTF-8 encoder can send it on."""
    surrogate = _surrogate()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if surrogate.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _load(body: bytes, config: RelayConfig) -> Any:
    if len(body) > config.max_body_bytes:
        raise PayloadTooLarge(
            [FieldError(None, "body", "body_too_large", f"the body is over {config.max_body_bytes} bytes")]
        )
    if not body or body.isspace():
        raise _request_error("body_empty", 'the body is empty; send a JSON event or {"data": [...]}')
    top = _read_busy(body)
    if top is not _UNREAD:
        return top
    text = _text(body)
    try:
        top = load_json(text)
    except RecursionError:
        raise _request_error(
            "nesting_too_deep", f"JSON nesting is limited to {config.max_depth} levels"
        ) from None
    except ValueError:  # JSONDecodeError, NaN, huge numbers
        raise _request_error("invalid_json", "the body is not valid UTF-8 JSON") from None
    # a paired escape (an emoji from an ASCII-only encoder) is fine: json joins it into one character
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(top):
        raise _request_error(
            "encoding_invalid", "the body holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)"
        )
    return top


def parse_body(body: bytes, config: RelayConfig) -> ParsedBody:
    """One event, or {"data": [...]}; test_event_code, pixel_id and consent are request-wide either way.

    Raises only BadRequest or PayloadTooLarge, for faults of the whole request.
    """
    top = _load(body, config)
    if not isinstance(top, dict):
        raise _request_error("body_not_object", "the body must be a JSON object")
    test_event_code = pixel_id = consent = None
    options: dict[str, Any] = {}
    if not _REQUEST_WIDE.isdisjoint(top):  # most bodies (a browser's event) carry none of them
        top = dict(top)
        test_event_code = top.pop("test_event_code", None)
        pixel_id = top.pop("pixel_id", None)
        consent = top.pop("consent", None)  # request-wide, never sent to Meta
        options = {name: top.pop(name) for name in REQUEST_OPTIONS if name in top}
        options = {name: value for name, value in options.items() if value is not None}  # null: absent
    if "data" in top:
        events = top["data"]
        if not isinstance(events, list):
            raise _request_error("data_not_list", "data must be a list of events", "data")
        if not events:
            raise _request_error("data_empty", "data holds no events", "data")
        wrapper_depth = 2  # the object, then the list
    else:
        events = [top]
        wrapper_depth = 0
    if len(events) > config.max_events:
        raise PayloadTooLarge(
            [FieldError(None, "data", "too_many_events", f"at most {config.max_events} events a request")]
        )
    request_errors = _request_errors(test_event_code, pixel_id, options, config)
    if request_errors:
        raise BadRequest(request_errors)
    errors = []
    for index, event in enumerate(events):
        error = check_event_shape(event, index, config, wrapper_depth)
        if error is not None:
            errors.append(error)
    return ParsedBody(events, errors, test_event_code, pixel_id, consent, options)


def _request_errors(
    test_event_code: Any, pixel_id: Any, options: dict[str, Any], config: RelayConfig
) -> list[FieldError]:
    """What is wrong with the request-wide values (test_event_code, pixel_id, Meta's options)."""
    request_errors = []
    if test_event_code is not None and not (
        isinstance(test_event_code, str) and 0 < len(test_event_code) <= config.max_string
    ):
        request_errors.append(
            FieldError(None, "test_event_code", "test_event_code_invalid", "must be a non-empty string")
        )
    if pixel_id is not None and (isinstance(pixel_id, bool) or not isinstance(pixel_id, str | int)):
        request_errors.append(FieldError(None, "pixel_id", "pixel_id_invalid", "must be a string of digits"))
    if options:
        request_errors += _option_errors(options, config)
    return request_errors


def _option_errors(options: dict[str, Any], config: RelayConfig) -> list[FieldError]:
    """Meta's request-level parameters: non-empty strings; the error names the field, never the value."""
    return [
        FieldError(
            None,
            name,
            f"{name}_invalid",
            f"must be a non-empty string of at most {config.max_string} characters",
        )
        for name, value in options.items()
        if not (isinstance(value, str) and 0 < len(value) <= config.max_string)
    ]


def check_event_shape(
    event: Any, index: int, config: RelayConfig, wrapper_depth: int = 0
) -> FieldError | None:
    """The first shape or limit fault of one event, or None; the message never quotes a value."""
    if type(event) is dict and _is_plainly_valid(event, config, wrapper_depth):
        return None  # the common case, judged by type; anything else gets the walk that names the fault
    return check_event_shape_by_walking(event, index, config, wrapper_depth)


def check_event_shape_by_walking(
    event: Any, index: int, config: RelayConfig, wrapper_depth: int = 0
) -> FieldError | None:
    """`check_event_shape` without its type-based shortcut: what the shortcut must agree with."""
    if not isinstance(event, dict):
        return FieldError(index, "", "event_not_object", "an event must be a JSON object")
    for key in ("user_data", "custom_data"):
        if key in event and event[key] is not None and not isinstance(event[key], dict):
            return FieldError(index, key, f"{key}_not_object", f"{key} must be a JSON object")
    for key, value in (event.get("user_data") or {}).items():
        items = value if type(value) is list else (value,)
        if len(items) > config.max_values:
            return FieldError(
                index, safe_path(f"user_data.{key}"), "too_many_values", f"at most {config.max_values} a key"
            )
        for item in items:
            if isinstance(item, _CONTAINERS):
                message = "must be a string, a number or a list of those"
                return FieldError(index, safe_path(f"user_data.{key}"), "user_data_value_invalid", message)
    if _within_limits(event, config, wrapper_depth):  # the common case: no paths built
        return None
    return _check_limits(event, index, config, wrapper_depth)


def _is_plainly_valid(event: JsonObject, config: RelayConfig, wrapper_depth: int) -> bool:
    """True when check_event_shape would find no fault, judged by exact JSON types level by level.

    The event's own values, and those of its objects holding only scalars and lists of them (user_data,
    most custom_data), are checked in place; only deeper containers (contents...) are walked
    generically. False means "not sure": the caller then runs the full checks, which find the fault
    and its path, so errors stay the same.
    """
    max_string = config.max_string
    if wrapper_depth + 3 > config.max_depth or config.max_values < 1:  # event, user_data, a list: 3 levels
        return False
    nested: list[tuple[Any, int]] = []
    for key, value in event.items():
        if len(key) > max_string:
            return False
        kind = type(value)
        if kind is str:
            if key in _OBJECT_FIELDS or len(value) > (config.max_url if key in _LONG_STRINGS else max_string):
                return False
        elif kind is dict:
            if _is_flat_object(value, config):  # user_data, and most custom_data: nothing to walk
                continue
            if key == "user_data":
                return False
            nested.append((value, wrapper_depth + 2))
        elif kind is list:
            if key in _OBJECT_FIELDS:
                return False
            nested.append((value, wrapper_depth + 2))
        elif kind not in _SCALARS or (key in _OBJECT_FIELDS and value is not None):
            return False
    return _nested_within_limits(nested, config)


def _is_flat_object(obj: JsonObject, config: RelayConfig) -> bool:
    """Keys and strings within max_string, lists within max_values, nothing nested: user_data's rules,
    which an object one level below an event (within max_depth, checked first) that keeps them also
    meets for every other limit."""
    max_string = config.max_string
    for key, value in obj.items():
        if len(key) > max_string:
            return False
        kind = type(value)
        if kind is str:
            if len(value) > max_string:
                return False
        elif kind is list:
            if len(value) > config.max_values:
                return False
            for item in value:
                if type(item) is str:
                    if len(item) > max_string:
                        return False
                elif type(item) not in _SCALARS:
                    return False
        elif kind not in _SCALARS:
            return False
    return True


def _within_limits(event: JsonObject, config: RelayConfig, wrapper_depth: int) -> bool:
    """Whether depth and string lengths are all within the limits (fast; _check_limits says where not)."""
    max_depth, max_string = config.max_depth, config.max_string
    if wrapper_depth + 1 > max_depth:
        return False
    stack: list[tuple[Any, int]] = []
    for key, value in event.items():
        if len(key) > max_string:
            return False
        if isinstance(value, str):
            if len(value) > (config.max_url if key in _LONG_STRINGS else max_string):
                return False
        elif isinstance(value, _CONTAINERS):
            stack.append((value, wrapper_depth + 2))
        elif type(value) is HugeInt:
            return False
    return _nested_within_limits(stack, config)


def _nested_within_limits(stack: list[tuple[Any, int]], config: RelayConfig) -> bool:
    """Whether the (container, depth) pairs and everything inside them are within depth and length."""
    max_depth, max_string = config.max_depth, config.max_string
    while stack:
        container, depth = stack.pop()
        if depth > max_depth:
            return False
        if type(container) is dict:
            for key in container:
                if len(key) > max_string:
                    return False
            values = container.values()
        else:
            values = container
        for value in values:
            if isinstance(value, str):
                if len(value) > max_string:
                    return False
            elif isinstance(value, _CONTAINERS):
                stack.append((value, depth + 1))
            elif type(value) is HugeInt:
                return False
    return True


def _check_limits(
    event: dict[str, Any], index: int, config: RelayConfig, wrapper_depth: int
) -> FieldError | None:
    """The first depth, length or number fault, with its path; iterative (no recursion on hostile input).

    Paths go through safe_path: a caller's own key names are never echoed.
    """
    stack: list[tuple[Any, str, int]] = [(event, "", wrapper_depth + 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, _CONTAINERS):
            if depth > config.max_depth:
                message = f"JSON nesting is limited to {config.max_depth} levels"
                return FieldError(index, path, "nesting_too_deep", message)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and len(key) > config.max_string:
                    message = f"a key is over {config.max_string} characters"
                    return FieldError(index, path, "key_too_long", message)
                name = key if type(key) is int or key in KNOWN else PLACEHOLDER  # never a caller's key
                child = f"{path}.{name}" if path else str(name)
                stack.append((item, child, depth + 1))
        elif isinstance(value, str):
            limit = config.max_url if path in _LONG_STRINGS else config.max_string
            if len(value) > limit:
                return FieldError(index, path, "string_too_long", f"longer than {limit} characters")
        elif type(value) is HugeInt:
            message = "a number beyond ±1.8e308 (a double's range), which Meta cannot take"
            return FieldError(index, path, "number_out_of_range", message)
    return None
