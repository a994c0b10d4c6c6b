"""Meta credentials from Secrets Manager: cached per container, fetched again after a token error.

Secret JSON (docs/CONTRACTS.md): {"access_token", "app_secret"?, "pixels"?: {"<id>": {"access_token",
"app_secret"?}}, "api_keys"?: [...], "hmac_secret"?: ...}. Nothing here logs or echoes a value.
"""

from __future__ import annotations

from collections.abc import Callable

from capi_relay.errors import TokenMetaError, TransientMetaError
from capi_relay.model import Credentials

MAX_AGE_S = 300  # a rotated token or new API key applies within 5 minutes (settings.secret_max_age_s)
PLACEHOLDER = "REPLACE_WITH_META_ACCESS_TOKEN"  # what template.yaml creates the secret with


def read_secret(force_refresh: bool = False) -> dict:
    """The secret's JSON (Powertools caches it for MAX_AGE_S; force_refresh fetches it now).

    An unreachable or unreadable secret is a TransientMetaError: the events wait in the retry queue
    instead of being lost.
    """
    from aws_lambda_powertools.utilities import parameters

    from relay_aws import settings

    try:
        value = parameters.get_secret(
            settings.load().secret_id,
            transform="json",
            max_age=settings.load().secret_max_age_s,  # MAX_AGE_S unless SECRET_MAX_AGE_S says otherwise
            force_fetch=force_refresh,
        )
    except (parameters.exceptions.GetParameterError, parameters.exceptions.TransformParameterError):
        raise TransientMetaError("the Meta secret could not be read") from None
    if not isinstance(value, dict):
        raise TransientMetaError("the Meta secret is not a JSON object")
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
