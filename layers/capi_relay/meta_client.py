"""The Conversions API over HTTP: one pooled session, timeouts, and one place that classifies failures.

The access token travels in the JSON body, never in the URL; no exception raised here holds the token
or Meta's message text (which may echo event data) — only status, code, subcode and fbtrace_id.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

import requests
from requests.adapters import HTTPAdapter

from capi_relay.errors import (
    MetaError,
    PermanentMetaError,
    ThrottledMetaError,
    TokenMetaError,
    TransientMetaError,
)
from capi_relay.json_codec import GraphBodyWriter
from capi_relay.model import REQUEST_OPTIONS, Credentials

if TYPE_CHECKING:
    from capi_relay.json_types import JsonObject

# DESIGN.md §3: outages and Meta's own "try again later"
TRANSIENT_CODES = frozenset({1, 2, 341, 368})
# rate limits: application, user, page, custom-level and ads-management throttling; Meta sends several
# of them with is_transient false, so the code alone decides
THROTTLE_CODES = frozenset({4, 17, 32, 613})
ADS_THROTTLE_CODES = (80000, 80100)  # [from, to): the 800xx business-use-case family (80000 … 80014 …)
TOKEN_CODES = frozenset({190, 102})
# Meta's guidance: a small request is answered in well under a second; give it 1.5–3 s, and larger
# batches more, up to the client's read timeout (a cap)
SMALL_READ_S = 2.5
READ_S_PER_EVENT = 0.008  # + 8 s for a batch of 1000


def read_timeout_s(events: int, cap_s: float) -> float:
    """How long to wait for Meta's answer to a request of `events` events."""
    return min(SMALL_READ_S + READ_S_PER_EVENT * events, cap_s)


class MetaResponse(NamedTuple):
    """What Meta says when it takes a request."""

    events_received: int
    fbtrace_id: str | None
    messages: Sequence[Any] = ()


@lru_cache(maxsize=4)  # the same token and secret on every request of a container
def appsecret_proof(access_token: str, app_secret: str) -> str:
    """Meta's proof that the caller holds the app secret: hex HMAC-SHA256 of the token."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


class _Details(TypedDict):
    """MetaError's keywords, as read from a failed answer: what may be logged and queued."""

    status: int
    code: int | None
    subcode: int | None
    fbtrace_id: str | None


def classify(response: requests.Response | None = None, exc: BaseException | None = None) -> MetaError:
    """The one mapping from a failed call (an exception, or a non-200 answer) to our error classes."""
    if exc is not None or response is None:
        kind = type(exc).__name__ if exc is not None else "no response"
        return TransientMetaError(f"Graph API unreachable ({kind})")
    status = response.status_code
    error: JsonObject = {}
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = body["error"]
    except ValueError:
        pass  # an HTML page from a proxy, or nothing at all
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    trace = error.get("fbtrace_id") if isinstance(error.get("fbtrace_id"), str) else None
    trace = trace or response.headers.get("x-fb-trace-id")
    where = f"HTTP {status}, code {code}, subcode {subcode}"
    details: _Details = {"status": status, "code": code, "subcode": subcode, "fbtrace_id": trace}
    if code in TOKEN_CODES:
        return TokenMetaError(f"Graph API refused the access token ({where})", **details)
    if _throttling(code) or status == 429:
        return ThrottledMetaError(f"Graph API throttled the request, retry later ({where})", **details)
    if code in TRANSIENT_CODES or error.get("is_transient") is True or status >= 500:
        return TransientMetaError(f"Graph API failed, retry later ({where})", **details)
    if 400 <= status < 500:
        return PermanentMetaError(f"Graph API rejected the request ({where})", **details)
    return TransientMetaError(f"Graph API answered unexpectedly ({where})", **details)


def _throttling(code: int | None) -> bool:
    return code is not None and (
        code in THROTTLE_CODES or ADS_THROTTLE_CODES[0] <= code < ADS_THROTTLE_CODES[1]
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def pin_environment(session: requests.Session, url: str) -> None:
    """Read the proxy and CA-bundle variables for `url` once, as requests would on every request.

    With `trust_env` on, requests walks os.environ twice per request for proxies (and reads ~/.netrc):
    a third of a one-event request's CPU. The environment does not change in a container, so the
    answer requests gives for our one URL is computed here and kept; nothing is read per request.
    """
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.trust_env = False
    session.proxies.update(settings["proxies"])
    session.verify = settings["verify"]


class GraphSession(requests.Session):
    """A requests.Session whose `post` prepares a URL's request once and then changes only its body.

    Session.request merges the session's headers, cookies, hooks and settings into a new request on
    every call (~0.4 ms of CPU here, a fifth of a one-event invocation), though for our few Graph URLs
    nothing but the body ever changes. `post` takes only what MetaClient sends: a body, `timeout`.
    Cookies are never sent (the Graph API needs none): what a response sets is not carried forward.
    """

    MAX_TEMPLATES = 64  # one per pixel's URL; more (never seen) are prepared each time, not kept

    def __init__(self) -> None:
        super().__init__()
        self._templates: dict[str, requests.PreparedRequest] = {}

    def post(self, url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:
        if json is not None or not isinstance(url, str) or set(kwargs) - {"timeout"}:
            return super().post(url, data=data, json=json, **kwargs)  # anything else: requests' own way
        template = self._templates.get(url)
        if template is None:
            template = self.prepare_request(requests.Request("POST", url))
            if len(self._templates) < self.MAX_TEMPLATES:
                self._templates[url] = template
        prepared = template.copy()
        prepared.prepare_body(data, None)
        return self.send(prepared, **kwargs)


class MetaClient:
    """POST /{version}/{pixel_id}/events; one per container, so connections are reused across requests."""

    def __init__(
        self,
        graph_url: str,
        api_version: str,
        timeout: tuple[float, float] = (3.05, 10),
        pool_size: int = 10,
    ) -> None:
        self.graph_url = graph_url.rstrip("/")
        self.api_version = api_version
        self.timeout = timeout
        self._session = GraphSession()
        self._write = GraphBodyWriter()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"Content-Type": "application/json", "User-Agent": "capi-relay/0.1"})
        pin_environment(self._session, self.graph_url)

    def send(
        self,
        pixel_id: str,
        events: Sequence[JsonObject],
        credentials: Credentials,
        test_event_code: str | None = None,
        max_read_s: float | None = None,
        options: Mapping[str, str] | None = None,
    ) -> MetaResponse:
        """Send ≤ 1000 ready (hashed) events; raise Transient-, Token- or PermanentMetaError.

        The read timeout grows with the batch (read_timeout_s), never past the client's own nor past
        `max_read_s` (what the caller's deadline leaves).
        """
        payload: dict[str, Any] = {"data": list(events), "access_token": credentials.access_token}
        if credentials.app_secret:
            payload["appsecret_proof"] = appsecret_proof(credentials.access_token, credentials.app_secret)
        if test_event_code:
            payload["test_event_code"] = test_event_code
        if options:  # partner_agent, upload_tag, …: only Meta's own names, never data or access_token
            payload.update((name, options[name]) for name in REQUEST_OPTIONS if options.get(name))
        body = self._write(payload, len(events))
        url = f"{self.graph_url}/{self.api_version}/{pixel_id}/events"
        try:
            read_s = read_timeout_s(len(events), self.timeout[1])
            if max_read_s is not None:
                read_s = min(read_s, max_read_s)
            response = self._session.post(url, data=body, timeout=(self.timeout[0], read_s))
        except requests.RequestException as exc:
            raise classify(exc=exc) from None  # `from None`: the cause's repr may hold the request
        if response.status_code != 200:
            raise classify(response)
        try:
            answer = response.json()
            received = answer["events_received"]
        except (ValueError, KeyError, TypeError):
            raise classify(response) from None  # a 200 that is not Meta's answer: try again later
        messages, trace = answer.get("messages"), answer.get("fbtrace_id")
        return MetaResponse(  # by position: a NamedTuple built by keyword costs ~1 µs more, every request
            received if isinstance(received, int) else len(events),
            trace if isinstance(trace, str) else None,
            messages if isinstance(messages, list) else [],
        )

    def close(self) -> None:
        self._session.close()
