"""Meta credentials from Secrets Manager: cached per container, fetched again after a token error.

Secret JSON (docs/CONTRACTS.md): {"access_token", "app_secret"?, "pixels"?: {"<id>": {"access_token",
"app_secret"?}}, "api_keys"?: [...], "hmac_secret"?: ...}. Nothing here logs or echoes a value.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from capi_relay.errors import SecretUnavailable, TokenMetaError
from capi_relay.model import Credentials

MAX_AGE_S = 300  # a rotated token or new API key applies within 5 minutes (settings.secret_max_age_s)
PLACEHOLDER = "REPLACE_WITH_META_ACCESS_TOKEN"  # what template.yaml creates the secret with
# Secrets Manager answers in milliseconds; the SDK's defaults (60 s timeouts, retries) would hold a
# request for minutes while it is slow. One retry: two attempts of ≤ 1 s connect + 2 s read
CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 2.0
ATTEMPTS = 2
WORST_READ_S = ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + 1  # + the SDK's backoff between them

# stale-while-error: the last good value of each secret this container read, served on any failure;
# after a failure it is served without asking the store again for a while (no request pays twice)
_last_good: dict[str, dict] = {}
_failed_at: dict[str, float] = {}
QUIET_AFTER_FAILURE_S = 30.0


@cache
def _provider() -> Any:
    """One Powertools SecretsProvider per container, on a client with short timeouts."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from relay_aws import client_config

    return SecretsProvider(boto_config=client_config.bounded(CONNECT_TIMEOUT_S, READ_TIMEOUT_S, ATTEMPTS))


def expire_cache() -> None:
    """As if MAX_AGE_S had passed: the next read asks Secrets Manager (the last good value is kept)."""
    if _provider.cache_info().currsize:
        _provider().clear_cache()


def clear_cache() -> None:
    """Forget the cached secret, its client and the last good value (a new container; tests)."""
    if _provider.cache_info().currsize:
        _provider().clear_cache()
    _provider.cache_clear()
    _last_good.clear()
    _failed_at.clear()


def read_secret(force_refresh: bool = False) -> dict:
    """The secret's JSON (cached for settings.secret_max_age_s; force_refresh fetches it now).

    On any failure — slow, refused, deleted, not JSON — the last good value this container read is
    served (stale-while-error); only a container that never read it raises SecretUnavailable, which
    names the secret: the events wait in the retry queue, or the request gets a 503 saying why.
    """
    from relay_aws import settings

    name = settings.load().secret_id
    if name in _last_good and time.monotonic() - _failed_at.get(name, -math.inf) < QUIET_AFTER_FAILURE_S:
        return _last_good[name]
    try:
        max_age = settings.load().secret_max_age_s  # MAX_AGE_S unless SECRET_MAX_AGE_S says otherwise
        value = _provider().get(name, transform="json", max_age=max_age, force_fetch=force_refresh)
        if not isinstance(value, dict):
            raise TypeError("not a JSON object")
    except Exception as error:  # whatever the SDK or the transform raised: never its text (values)
        if name in _last_good:
            _failed_at[name] = time.monotonic()
            return _last_good[name]
        raise SecretUnavailable(name, type(error).__name__) from None
    _last_good[name] = value
    _failed_at.pop(name, None)
    return value


def credentials(pixel_id: str, force_refresh: bool = False) -> Credentials:
    """The token (and app secret) for a pixel: its own entry in "pixels", else the top-level one."""
    secret = read_secret(force_refresh)
    own = (secret.get("pixels") or {}).get(str(pixel_id))
    own = own if isinstance(own, dict) else {}
    access_token = own.get("access_token") or secret.get("access_token")
    if not isinstance(access_token, str) or not access_token.strip() or access_token == PLACEHOLDER:
        # the operator has not put a token in yet: queue the events and let the token alarm fire
        raise TokenMetaError("no access token in the secret (see README.md, Deploy to AWS)", code=190)
    app_secret = own.get("app_secret") or secret.get("app_secret")
    app_secret = app_secret if isinstance(app_secret, str) and app_secret else None
    return Credentials(access_token=access_token, app_secret=app_secret)


def source() -> Callable[[str, bool], Credentials]:
    """The domain's credential source: `(pixel_id, force_refresh) -> Credentials`."""
    return credentials


def auth_policy() -> tuple[tuple[str, ...], str | tuple[str, ...] | None]:
    """(api_keys, hmac_secret) for RelayConfig: server callers' credentials live in the same secret."""
    secret = read_secret()
    keys = secret.get("api_keys") or ()
    keys = (keys,) if isinstance(keys, str) else tuple(k for k in keys if isinstance(k, str) and k)
    hmac_secret = secret.get("hmac_secret") or None
    if isinstance(hmac_secret, list):
        hmac_secret = tuple(s for s in hmac_secret if isinstance(s, str) and s) or None
    elif not isinstance(hmac_secret, str):
        hmac_secret = None
    return keys, hmac_secret
