"""Who may send events: API keys and HMAC signatures for servers, origin and URL allow-lists for browsers.

Pure functions over the request and the deployment's policy: no AWS, no I/O, no clock (``now`` is an
argument). Closed by default: a caller needs credentials or an allowed Origin unless the operator made
the relay open (OpenRelay, for trials). An Origin can be forged, so a caller admitted by it alone gets a
browser's capability only. Every refusal is an ``Unauthorized`` (401: prove who you are) or ``Forbidden``
(403: you may not send this here) carrying FieldErrors that name a header or field and a code — never
the key, signature or URL that was presented. The policy table is in docs/security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urlsplit

from capi_relay.consent import CONSENT_HEADER
from capi_relay.errors import BadRequest, FieldError, Forbidden, PayloadTooLarge, Unauthorized

API_KEY_HEADER = "x-api-key"
SIGNATURE_HEADER = "x-capi-signature"
TIMESTAMP_HEADER = "x-capi-timestamp"
SIGNATURE_WINDOW_S = 300  # like Stripe: a signed request is good for five minutes either side of now
HASHED_KEY_PREFIX = "sha256:"  # a stored key "sha256:<64 hex>" is the digest of the real key

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEX64 = re.compile(r"[0-9a-f]{64}")
# A browser reads "\" as "/" and drops tabs/newlines, so such a URL's real host is not what urlsplit sees.
_AMBIGUOUS_URL = re.compile(r"[\\\s\x00-\x1f\x7f]")


class AuthPolicy(Protocol):
    """The part of RelayConfig this module reads; keys and secret come from Secrets Manager."""

    @property
    def api_keys(self) -> Sequence[str]: ...  # plain keys or "sha256:<hex>" digests
    @property
    def hmac_secret(self) -> str | Sequence[str] | None: ...  # several = rotation
    @property
    def allowed_origins(self) -> Sequence[str]: ...  # "https://shop.example", "https://*.shop.example", "*"
    @property
    def allowed_url_domains(self) -> Sequence[str]: ...  # "shop.example" also allows its subdomains
    @property
    def open_relay(self) -> bool: ...  # True: callers need neither credentials nor an Origin (trials)
    @property
    def browser_max_events(self) -> int: ...


class _Request(Protocol):
    """The part of IngestRequest this module reads (header names lower-case)."""

    @property
    def body(self) -> bytes: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def query(self) -> Mapping[str, str]: ...


# --- browsers: origin and URL allow-lists --------------------------------------------------------


CACHED_TEXT_MAX = 2048  # origins and URLs up to this length are remembered (bounded memory)


def _origin_key(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a serialized origin, or None when it is not an http(s) origin.

    A browser sends the same Origin on every request: the parse is remembered (LRU, short ones only).
    """
    return _cached_origin_key(value) if len(value) <= CACHED_TEXT_MAX else parse_origin(value)


def parse_origin(value: str) -> tuple[str, str, int] | None:
    """_origin_key without the cache."""
    value = value.strip().lower().rstrip("/")
    if _AMBIGUOUS_URL.search(value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    hostname = parts.hostname  # a property that parses netloc again on every read
    if parts.scheme not in _DEFAULT_PORTS or not hostname or "@" in parts.netloc:
        return None
    if parts.path or parts.query or parts.fragment:
        return None
    return parts.scheme, hostname.rstrip("."), port or _DEFAULT_PORTS[parts.scheme]


_cached_origin_key = lru_cache(maxsize=256)(parse_origin)


def check_origin(origin: str | None, allowed: Iterable[str]) -> bool:
    """True when the browser's Origin is on the allow-list (exact, "*" for any, or "scheme://*.domain")."""
    if not origin:
        return False
    key = _origin_key(origin)
    if key is None:  # "null" (sandboxed iframes, file://) and anything malformed
        return False
    scheme, host, port = key
    anyone, entries = _allowed_origins(tuple(allowed))
    if anyone:
        return True
    for (want_scheme, want_host, want_port), wildcard in entries:
        if (want_scheme, want_port) != (scheme, port):
            continue
        if host == want_host and not wildcard:
            return True
        if wildcard and host.endswith("." + want_host):
            return True
    return False


@lru_cache(maxsize=32)
def _allowed_origins(allowed: tuple[str, ...]) -> tuple[bool, tuple[tuple[tuple[str, str, int], bool], ...]]:
    """The allow-list parsed once per container (it is configuration): ("*" present, (key, wildcard)...)."""
    entries = []
    for entry in allowed:
        entry = entry.strip().lower()
        if entry == "*":
            return True, ()
        wildcard = "://*." in entry
        want = _origin_key(entry.replace("://*.", "://", 1) if wildcard else entry)
        if want is not None:
            entries.append((want, wildcard))
    return False, tuple(entries)


def _host_key(host: str) -> str:
    """Lower-case ASCII form of a host name, so "Bücher.example" and "xn--bcher-kva.example" compare equal."""
    host = host.strip().lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


@lru_cache(maxsize=64)  # allow-list entries are configuration: each is read once per container
def _domain_entry(entry: str) -> str:
    entry = entry.strip()
    if "://" in entry:  # tolerate a URL where a domain was meant
        entry = urlsplit(entry).hostname or ""
    return _host_key(entry.removeprefix("*.").lstrip("."))


def url_host(url: str) -> str | None:
    """The host key of an http(s) URL, or None for what a browser would read differently from us:
    user info ("good.example@evil.example"), backslashes, whitespace and control characters."""
    if _AMBIGUOUS_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    hostname = parts.hostname  # a property that parses netloc again on every read
    if parts.scheme.lower() not in _DEFAULT_PORTS or not hostname or "@" in parts.netloc:
        return None
    return _host_key(hostname)


_cached_url_host = lru_cache(maxsize=1024)(url_host)  # a site's hosts repeat; bounded, short ones only
# "http(s)://" + an authority of plain host characters (and a port), then the end, "/", "?" or "#":
# urlsplit would take exactly this authority as netloc, so its host is that of the URL cut after it
_PLAIN_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?=[/?#]|\Z)")


def page_host(url: str) -> str | None:
    """url_host(url), remembered per scheme and authority: pages differ, their host rarely does."""
    if _AMBIGUOUS_URL.search(url):
        return None
    plain = _PLAIN_ORIGIN.match(url)
    if plain is not None and plain.end() <= CACHED_TEXT_MAX:
        return _cached_url_host(plain.group())
    return url_host(url)


def check_url_domain(event_source_url: str | None, allowed_domains: Iterable[str]) -> bool:
    """True when the URL is http(s) on an allowed domain or one of its subdomains (see url_host)."""
    if not isinstance(event_source_url, str):
        return False
    host = page_host(event_source_url)
    if host is None:
        return False
    for entry in allowed_domains:
        domain = _domain_entry(entry)
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


# --- servers: API keys and signatures ------------------------------------------------------------


def _key_digest(stored: str) -> bytes | None:
    if stored.startswith(HASHED_KEY_PREFIX):
        hex_digest = stored[len(HASHED_KEY_PREFIX) :].strip().lower()
        return bytes.fromhex(hex_digest) if _HEX64.fullmatch(hex_digest) else None
    return hashlib.sha256(stored.encode()).digest() if stored else None


def verify_api_key(presented: str | None, keys: Iterable[str]) -> bool:
    """True when the presented key is one of ours; every stored key is compared, in constant time.

    Keys may be stored as "sha256:<hex of the key's SHA-256>" so the secret need not hold them in clear.
    Comparing digests gives equal-length inputs, so timing reveals neither the key nor its length.
    """
    if not presented:
        return False
    digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
    found = False
    for stored in keys:
        want = _key_digest(stored)
        if want is not None and hmac.compare_digest(digest, want):
            found = True  # no early exit: the loop takes as long whichever key matched
    return found


def _as_bytes(body: bytes | str) -> bytes:
    return body if isinstance(body, bytes) else body.encode()


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """Hex HMAC-SHA256 of "{timestamp}.{body}": what a server caller sends in X-Capi-Signature."""
    message = str(timestamp).encode() + b"." + _as_bytes(body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _unauthorized(header: str, code: str, message: str) -> Unauthorized:
    return Unauthorized([FieldError(None, f"headers.{header}", code, message)])


def verify_signature(
    secret: str | Sequence[str],
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes | str,
    now: float,
    window_s: int = SIGNATURE_WINDOW_S,
) -> None:
    """Accept a request signed within the replay window; else raise Unauthorized naming the header.

    The timestamp is inside the signed message, so an old signature cannot be re-dated; outside the
    window (either side: clock skew) a captured request is refused. Several secrets allow rotation.
    """
    if not timestamp_header:
        raise _unauthorized(
            TIMESTAMP_HEADER, "timestamp_missing", "X-Capi-Timestamp must come with a signature"
        )
    stamp = timestamp_header.strip()
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise _unauthorized(TIMESTAMP_HEADER, "timestamp_invalid", "X-Capi-Timestamp must be Unix seconds")
    if abs(now - int(stamp)) > window_s:
        raise _unauthorized(
            TIMESTAMP_HEADER,
            "timestamp_out_of_window",
            f"X-Capi-Timestamp must be within {window_s} s of the relay's clock; sign the request again",
        )
    if not signature_header:
        raise _unauthorized(SIGNATURE_HEADER, "signature_missing", "X-Capi-Signature is required")
    presented = signature_header.strip().lower().removeprefix("sha256=")
    secrets = [secret] if isinstance(secret, str) else list(secret)
    valid = False
    if _HEX64.fullmatch(presented):
        for candidate in secrets:
            if candidate and hmac.compare_digest(sign(candidate, stamp, body), presented):
                valid = True
    if not valid:
        raise _unauthorized(
            SIGNATURE_HEADER,
            "signature_invalid",
            'X-Capi-Signature must be hex HMAC-SHA256 of "{timestamp}.{raw body}" with the shared secret',
        )


# --- the policy ----------------------------------------------------------------------------------


def _secrets(config: AuthPolicy) -> list[str]:
    secret = config.hmac_secret
    if not secret:
        return []
    return [secret] if isinstance(secret, str) else [s for s in secret if s]


def _authenticate_server(request: _Request, config: AuthPolicy, now: float) -> bool:
    """True when the request carries valid credentials; raise when it carries bad ones."""
    headers = request.headers
    has_key = API_KEY_HEADER in headers
    has_signature = SIGNATURE_HEADER in headers or TIMESTAMP_HEADER in headers
    if not (has_key or has_signature):
        return False  # a caller that did not try: the browser rules decide
    keys = [k for k in config.api_keys if k]
    secrets = _secrets(config)
    if not (keys or secrets) and config.open_relay:
        return False  # an open relay with nothing to check against: a client may send its key early
    if has_key:
        if not keys:
            if not secrets:
                raise _unauthorized(API_KEY_HEADER, "api_key_invalid", "X-Api-Key is not a key of this relay")
            raise _unauthorized(API_KEY_HEADER, "api_key_not_enabled", "this relay takes signatures only")
        if not verify_api_key(headers[API_KEY_HEADER], keys):
            raise _unauthorized(API_KEY_HEADER, "api_key_invalid", "X-Api-Key is not a key of this relay")
    if has_signature:
        if not secrets:
            raise _unauthorized(SIGNATURE_HEADER, "signature_not_enabled", "this relay takes API keys only")
        verify_signature(
            secrets, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), request.body, now
        )
    return True


def check_event_sources(request: _Request, config: AuthPolicy, events: Sequence[Any]) -> None:
    """Forbidden (403) unless every event names a page on allowed_url_domains (when that list is set).

    The URL checked is what Meta would get: the event's event_source_url, else the Referer that
    enrichment fills it from. ``events`` are the parsed events (a non-object is parsing's 400).
    """
    if not config.allowed_url_domains:
        return
    referer = request.headers.get("referer")
    errors = []
    for index, event in enumerate(events):
        url = event.get("event_source_url") if isinstance(event, dict) else None  # parsed JSON: a dict
        field = "event_source_url"
        if url in (None, "") and referer:
            url, field = referer, "headers.referer"
        # a URL of the wrong type is validation's 400, not a 403
        if isinstance(url, str) and not check_url_domain(url, config.allowed_url_domains):
            errors.append(
                FieldError(index, field, "url_domain_not_allowed", "the URL's host is not an allowed domain")
            )
    if errors:
        raise Forbidden(errors)


def authenticate_caller(request: _Request, config: AuthPolicy, now: float) -> bool:
    """Who the caller is, from the headers alone: cheap enough to run before the body is parsed.

    - Credentials presented (X-Api-Key, or X-Capi-Signature + X-Capi-Timestamp) are verified; bad
      ones are a 401, never a fall-back to the browser rules. Valid ones return True: a server may
      send events for any site, with full capability.
    - Otherwise a caller without an Origin is a 401, unless the relay is open (OpenRelay, trials).
    - A browser (Origin header) must be on allowed_origins; an open relay with no list admits any.

    False means admitted without credentials: check_event_sources is due, and for a caller with an
    Origin check_browser_capability.
    """
    if _authenticate_server(request, config, now):
        return True
    origin = request.headers.get("origin")
    if origin is None:
        if not config.open_relay:
            raise _unauthorized(
                API_KEY_HEADER,
                "credentials_missing",
                "send X-Api-Key, or X-Capi-Signature with X-Capi-Timestamp",
            )
    elif not (
        check_origin(origin, config.allowed_origins) or (config.open_relay and not config.allowed_origins)
    ):
        raise Forbidden(
            [FieldError(None, "headers.origin", "origin_not_allowed", "origin not in the allow-list")]
        )
    return False


def check_browser_capability(events: Sequence[Any], config: AuthPolicy) -> None:
    """What a caller admitted by its (forgeable) Origin alone may send: what a browser would.

    At most browser_max_events events (413), and website events only (403 naming each other one).
    Its client_ip_address is the connection's: relay.prepare_event drops one sent in the body.
    """
    limit = config.browser_max_events
    if len(events) > limit:
        message = f"at most {limit} events a request without credentials; servers send an API key"
        raise PayloadTooLarge([FieldError(None, "data", "too_many_events", message)])
    errors = [
        FieldError(index, "action_source", "action_source_not_allowed", _BROWSER_SOURCE_MESSAGE)
        for index, event in enumerate(events)
        if isinstance(event, dict) and event.get("action_source") not in (None, "", "website")
    ]
    if errors:
        raise Forbidden(errors)


_BROWSER_SOURCE_MESSAGE = "a caller without credentials sends website events only; servers send an API key"


def refuse_unsigned_inputs(request: _Request) -> None:
    """A signed request's consent and pixel must be in the signed body, not in a header or the query.

    The signature covers the body only: a header or query parameter could be added in transit.
    """
    if SIGNATURE_HEADER not in request.headers:
        return
    message = "not covered by the signature: put it in the signed body"
    errors = []
    if CONSENT_HEADER in request.headers:
        errors.append(FieldError(None, f"headers.{CONSENT_HEADER}", "unsigned_on_signed_request", message))
    if "pixel_id" in request.query:
        errors.append(FieldError(None, "query.pixel_id", "unsigned_on_signed_request", message))
    if errors:
        raise BadRequest(errors)


def choose_pixel(requested: object, pixel_ids: Sequence[str]) -> str:
    """The pixel a request sends to: the one it names if configured, else the default (the first).

    A relay must not send events in the name of a pixel its owner did not configure: 403.
    """
    if requested is None or requested == "":
        if pixel_ids:
            return pixel_ids[0]
        raise Forbidden([FieldError(None, "pixel_id", "pixel_not_configured", "this relay has no pixel")])
    if isinstance(requested, int) and not isinstance(requested, bool):
        requested = str(requested)
    if isinstance(requested, str) and requested in pixel_ids:
        return requested
    raise Forbidden([FieldError(None, "pixel_id", "pixel_not_allowed", "this pixel is not configured here")])
