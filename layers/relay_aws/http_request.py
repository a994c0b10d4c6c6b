"""An API Gateway HTTP API event or a Lambda function URL event (both payload v2.0) → IngestRequest.

The two differ little: a function URL's event has routeKey "$default" (it has no routes: every method
and path reaches the function), a `<id>.lambda-url.<region>.on.aws` domainName and accountId
"anonymous"; headers, cookies, requestContext.http.sourceIp, requestId and the body are the same.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from capi_relay.errors import BadRequest, FieldError
from capi_relay.model import IngestRequest

ROUTE_KEY = "POST /events"  # template.yaml's HttpApi route
PATH = "/events"


def is_post_events(event: Any) -> bool:
    """True for POST /events: always through the HTTP API's route; checked for a function URL's."""
    raw: Mapping[str, Any] = getattr(event, "raw_event", event) or {}
    if raw.get("routeKey") == ROUTE_KEY:
        return True
    http = (raw.get("requestContext") or {}).get("http") or {}
    return http.get("method") == "POST" and (raw.get("rawPath") or http.get("path")) == PATH


def is_graph_route(raw_path: object) -> bool:
    """Whether the path has the Graph door's shape, /{version}/{pixel_id}/events (parts checked later).

    API Gateway sends only its two routes here; a function URL sends every path, and anything else
    must answer 404 like API Gateway would. String checks (the shape of the regex
    `/+[^/]+/[^/]+/events/?`), so that recognising the route does not import capi_relay.graph_shape.
    """
    if not isinstance(raw_path, str) or not raw_path.startswith("/"):
        return False
    parts = raw_path.lstrip("/").split("/")
    if parts[-1] == "":  # one trailing "/"
        parts.pop()
    return len(parts) == 3 and parts[2] == "events" and bool(parts[0]) and bool(parts[1])


def is_post(event: Any) -> bool:
    """True for a POST, in either front door's event format."""
    raw: Mapping[str, Any] = getattr(event, "raw_event", event) or {}
    method = ((raw.get("requestContext") or {}).get("http") or {}).get("method")
    return method == "POST" or str(raw.get("routeKey", "")).startswith("POST ")


def request_id(event: Any) -> str | None:
    """The front door's id of this request (API Gateway's or the function URL's), for the logs."""
    raw: Mapping[str, Any] = getattr(event, "raw_event", event) or {}
    return (raw.get("requestContext") or {}).get("requestId")


def parse(event: Any) -> IngestRequest:
    """Take the request apart: raw body bytes, lower-case headers, cookies, source IP, query.

    Accepts the raw event dict or a Powertools event object (its `raw_event`). HTTP API v2 moves
    cookies out of the headers into a `cookies` list; a `cookie` header is read only when that list
    is absent (other emulators).
    """
    raw: Mapping[str, Any] = getattr(event, "raw_event", event) or {}
    headers = {str(name).lower(): str(value) for name, value in (raw.get("headers") or {}).items()}
    cookie_list = raw.get("cookies")
    if cookie_list is None and "cookie" in headers:
        cookie_list = headers["cookie"].split(";")
    context = raw.get("requestContext") or {}
    return IngestRequest(
        body=_body(raw),
        headers=headers,
        cookies=_cookies(cookie_list or ()),
        source_ip=(context.get("http") or {}).get("sourceIp"),
        query={str(k): str(v) for k, v in (raw.get("queryStringParameters") or {}).items()},
        request_id=context.get("requestId"),
    )


def _body(raw: Mapping[str, Any]) -> bytes:
    body = raw.get("body")
    if body is None:
        return b""
    if raw.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(
                [FieldError(None, "body", "body_encoding", "the body is marked base64 but is not")]
            ) from None
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)


def _cookies(pairs: Iterable[str]) -> dict[str, str]:
    """`name=value` strings → dict; the first of duplicate names wins (the most specific path, RFC 6265)."""
    cookies: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = str(pair).strip().partition("=")
        if sep and name and name not in cookies:
            cookies[name] = value.strip().strip('"')
    return cookies
