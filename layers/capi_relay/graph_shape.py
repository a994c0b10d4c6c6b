"""POST /{version}/{pixel_id}/events: Meta's own request and answer shapes around the same relay.

An existing Conversions API client (Meta's Business SDKs, a plain `curl -F`) switches to the relay by
its base URL only. This module turns its request (form-encoded, multipart or JSON; `data` as a JSON
string, an array of objects or of JSON strings; `access_token` = a relay API key) into the relay's
own IngestRequest, and the relay's answer into Meta's: `{"events_received", "messages",
"fbtrace_id"}` or `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}` with the
codes Meta uses (190 bad token, 100 invalid parameter), so the SDKs raise their usual exceptions.

Only what a browser's request says about its user (IP, User-Agent, cookies) is left out: a server's
own IP and User-Agent say nothing about its customer. Origin and Referer stay, so the browser rules
(allow-lists) still hold for a page that posts a form here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from capi_relay.errors import BadRequest, FieldError, PayloadTooLarge, Unauthorized
from capi_relay.model import REQUEST_OPTIONS, IngestRequest, RelayConfig

RELAY_PATH = "/events"
_GRAPH_PATH = re.compile(r"/+(v\d{1,3}\.\d{1,3})/([^/]{1,64})/events/?")  # "//v…": a base URL ending in "/"
_PIXEL = re.compile(r"\d{1,32}")
# Meta's user, page and system-user tokens start with "EAA"; app tokens are "{app_id}|{secret}".
_META_TOKEN = re.compile(r"EAA[A-Za-z0-9]{20,}|\d{5,}\|[A-Za-z0-9_-]{10,}")
_PASS_HEADERS = ("origin", "referer", "sec-gpc", "x-capi-consent")
_MAX_FIELDS = 2000  # form fields: data[0..999] plus a few options; more is an attack, not a client
_INDEXED = re.compile(r"data\[(\d{1,4})\]")


def _invalid(field: str, code: str, message: str) -> BadRequest:
    return BadRequest([FieldError(None, field, code, message)])


def pixel_of(raw_path: str) -> str:
    """The pixel id of /vNN.N/{pixel_id}/events; 400 for any other path."""
    match = _GRAPH_PATH.fullmatch(raw_path)
    if match is None:
        raise _invalid("path", "graph_path_invalid", "the path must be /vNN.N/{pixel_id}/events")
    pixel = match.group(2)
    if not _PIXEL.fullmatch(pixel):  # what Meta says of any id it does not have
        raise _invalid("pixel_id", "pixel_not_allowed", "the pixel id must be digits")
    return pixel


def relay_request(request: IngestRequest, raw_path: str, config: RelayConfig) -> IngestRequest:
    """The Graph request as the relay's own: {"data": [...], "pixel_id", "test_event_code"} + X-Api-Key.

    Raises BadRequest (→ code 100) for what Meta would refuse, Unauthorized (→ 190) for a Meta token.
    """
    pixel = pixel_of(raw_path)
    params = _params(request, config)
    token = _token(params, request.headers)
    body: dict[str, Any] = {"data": _events(params.get("data")), "pixel_id": pixel}
    code = params.get("test_event_code")
    if code not in (None, ""):
        body["test_event_code"] = code  # the relay's parser checks its type and length
    for name in REQUEST_OPTIONS:  # forwarded to Meta as test_event_code is; the relay's parser checks them
        value = params.get(name)
        if value not in (None, ""):
            body[name] = value
    headers = {name: request.headers[name] for name in _PASS_HEADERS if name in request.headers}
    headers["content-type"] = "application/json"
    if token is not None:
        headers["x-api-key"] = token
    try:
        encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (RecursionError, ValueError):
        raise _invalid(
            "data", "nesting_too_deep", f"JSON nesting is limited to {config.max_depth} levels"
        ) from None
    return IngestRequest(body=encoded, headers=headers, query={}, request_id=request.request_id)


# --- the request ---------------------------------------------------------------------------------


def _params(request: IngestRequest, config: RelayConfig) -> dict[str, Any]:
    """Body parameters, then query parameters where the body has none (the Python SDK's token)."""
    if len(request.body) > config.max_body_bytes:
        raise PayloadTooLarge(
            [FieldError(None, "body", "body_too_large", f"the body is over {config.max_body_bytes} bytes")]
        )
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    params = _body_params(request.body, ctype, request.headers.get("content-type", ""))
    for key, value in request.query.items():
        params.setdefault(key, value)
    return params


def _body_params(body: bytes, ctype: str, full_type: str) -> dict[str, Any]:
    if not body.strip():
        return {}
    if ctype == "application/json" or ctype.endswith("+json") or (not ctype and body.lstrip()[:1] == b"{"):
        top = _json(body, "body")
        if not isinstance(top, dict):
            raise _invalid("body", "body_not_object", "a JSON body must be an object")
        return top
    if ctype in ("application/x-www-form-urlencoded", ""):
        return _form(_text(body))
    if ctype == "multipart/form-data":
        return _multipart(body, full_type)
    raise _invalid(
        "headers.content-type",
        "content_type_unsupported",
        "send application/x-www-form-urlencoded, multipart/form-data or application/json",
    )


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("body", "body_encoding", "the body is not UTF-8") from None


def _reject_constant(name: str) -> float:
    raise ValueError(name)


def _json(text: str | bytes, field: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise _invalid(field, "nesting_too_deep", "JSON nesting is too deep") from None
    except ValueError:
        raise _invalid(field, "invalid_json", f"{field} is not valid JSON") from None


def _form(text: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except ValueError:
        raise _invalid("body", "too_many_fields", f"at most {_MAX_FIELDS} form fields") from None
    return _collect(pairs)


def _collect(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form fields → params; PHP-style data[0]=…&data[1]=… become the list they stand for."""
    params: dict[str, Any] = {}
    indexed: dict[int, str] = {}
    for key, value in pairs:
        match = _INDEXED.fullmatch(key)
        if match is not None:
            indexed[int(match.group(1))] = value
        else:
            params.setdefault(key, value)  # the first of repeated fields, as Meta reads them
    if indexed and "data" not in params:
        params["data"] = [indexed[i] for i in sorted(indexed)]
    return params


def _multipart(body: bytes, full_type: str) -> dict[str, Any]:
    """`curl -F data=… -F access_token=…`, as Meta's own examples send; file parts are refused."""
    from email.parser import BytesParser  # lazy: only multipart callers pay for it
    from email.policy import HTTP

    if "boundary=" not in full_type:
        raise _invalid("headers.content-type", "multipart_invalid", "multipart/form-data needs a boundary")
    head = f"Content-Type: {full_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if not parts or len(parts) > _MAX_FIELDS:
        raise _invalid("body", "multipart_invalid", "the multipart body has no readable fields")
    pairs = []
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            raise _invalid("body", "multipart_invalid", "every part must be a named field, not a file")
        payload = part.get_payload(decode=True)
        pairs.append((name, _text(payload if isinstance(payload, bytes) else b"")))
    return _collect(pairs)


def _token(params: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The caller's relay API key: access_token, else `Authorization: Bearer|OAuth`, else X-Api-Key."""
    token = params.get("access_token")
    if token is None:
        scheme, _, value = headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value.strip():
            token = value.strip()
    if token is None:
        token = headers.get("x-api-key")
    if token is None:
        return None
    if not isinstance(token, str) or not token:
        raise Unauthorized(
            [FieldError(None, "access_token", "api_key_invalid", "access_token must be a relay API key")]
        )
    if _META_TOKEN.fullmatch(token.strip()):
        raise Unauthorized(
            [
                FieldError(
                    None,
                    "access_token",
                    "meta_token_refused",
                    "access_token looks like a Meta access token: never send it here. The relay holds "
                    "your Meta token; send one of its API keys instead",
                )
            ]
        )
    return token


def _events(data: Any) -> list[Any]:
    """`data` as Meta takes it: a JSON string of an array, or an array of objects or of JSON strings."""
    if data is None or data == "":
        raise _invalid("data", "data_missing", "data is required: a JSON array of events")
    if isinstance(data, str):
        data = _json(data, "data")
    if not isinstance(data, list):
        raise _invalid("data", "data_not_list", "data must be a JSON array of events")
    events = []
    for index, event in enumerate(data):
        if isinstance(event, str):  # the Python SDK sends each event as its own JSON string
            try:
                event = _json(event, f"data[{index}]")
            except BadRequest as error:
                raise BadRequest([FieldError(index, *_where(error))]) from None
        events.append(event)
    return events


def _where(error: BadRequest) -> tuple[str, str, str]:
    first = error.errors[0]
    return first.field, first.code, first.message


# --- the answer ----------------------------------------------------------------------------------

_TYPE = {190: "OAuthException", 104: "OAuthException", 100: "OAuthException", 200: "OAuthException"}


def answer(status: int, body: Mapping[str, Any], trace_id: str | None) -> tuple[int, dict[str, Any]]:
    """The relay's answer (status, body) in Meta's shape; `trace_id` stands in for Meta's fbtrace_id."""
    if status < 300:
        received = len(body.get("event_ids") or ())  # events queued for retry count as received
        messages = [_message(w) for w in body.get("warnings") or ()]
        messages += [_message(e) for e in body.get("errors") or ()]
        trace = body.get("fbtrace_id") or trace_id
        return 200, {"events_received": received, "messages": messages, "fbtrace_id": trace}
    errors = [e for e in body.get("errors") or () if isinstance(e, Mapping)]
    code, subcode, kind = _code(status, errors)
    error: dict[str, Any] = {
        "message": _summary(code, errors),
        "type": kind,
        "code": code,
        "error_subcode": subcode,
        "is_transient": status >= 500,
        "error_user_title": _TITLES.get(code, "Invalid parameter"),
        "error_user_msg": "; ".join(_message(e) for e in errors[:5]) or _TITLES.get(code, ""),
        "fbtrace_id": trace_id,
    }
    if errors:  # paths and codes only, never values: what the caller needs to fix its request
        keys = ("index", "field", "code")
        error["error_data"] = {"errors": [{k: e.get(k) for k in keys} for e in errors[:100]]}
    meta = next((e for e in errors if e.get("graph_code") is not None), None)
    if meta is not None:  # Meta itself refused the events: its own code, subcode and trace
        error.update(code=meta["graph_code"], error_subcode=meta.get("graph_subcode"))
        error["fbtrace_id"] = meta.get("fbtrace_id") or trace_id
    return status, {"error": error}


_TITLES = {
    190: "Invalid API key",
    104: "API key required",
    100: "Invalid parameter",
    200: "Permissions error",
    2: "Service temporarily unavailable",
    1: "An unknown error occurred",
}


def _code(status: int, errors: list[Mapping[str, Any]]) -> tuple[int, int | None, str]:
    """(code, subcode, type) Meta would give for this refusal."""
    codes = {e.get("code") for e in errors}
    if status >= 500:
        return (2 if status == 503 else 1), None, "OAuthException"
    if status == 401:
        return (104 if codes <= {"credentials_missing"} and codes else 190), None, "OAuthException"
    if codes & {"pixel_not_allowed", "pixel_not_configured"}:
        return 100, 33, "GraphMethodException"  # "Object with ID … does not exist"
    if status == 403:
        return 200, None, "OAuthException"
    return 100, None, "OAuthException"


def _summary(code: int, errors: list[Mapping[str, Any]]) -> str:
    if code == 100 and any(e.get("code") in ("pixel_not_allowed", "pixel_not_configured") for e in errors):
        return (
            "Unsupported post request. The pixel does not exist on this relay, cannot be loaded due to "
            "missing permissions, or does not support this operation"
        )
    first = errors[0] if errors else None
    head = {190: "Invalid OAuth access token", 104: "An access token is required"}.get(
        code, _TITLES.get(code, "Invalid parameter")
    )
    return f"{head}: {_message(first)}" if first is not None else head


def _message(item: Mapping[str, Any]) -> str:
    """One warning or error as a line: "data[2].custom_data.currency: currency_invalid — words"."""
    index, field, code = item.get("index"), item.get("field") or "", item.get("code") or ""
    where = f"data[{index}]" if isinstance(index, int) else ""
    path = f"{where}.{field}" if where and field else (where or field or "request")
    text = item.get("message")
    return f"{path}: {code}" + (f" ({text})" if isinstance(text, str) and text else "")
