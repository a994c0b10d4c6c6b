"""The domain's RelayConfig for this deployment: the environment's settings plus the secret's auth keys.

Stale-while-error: the auth policy (API keys, HMAC secret) is read from the secret on each request
(cached 5 minutes). When Secrets Manager fails after a good read, the container keeps the last policy
it read, so a short outage does not lock out every caller; only a container that never read it fails
closed (the handler answers 503: callers cannot be checked).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from capi_relay.errors import MetaError, SecretUnavailable
from capi_relay.model import RelayConfig

if TYPE_CHECKING:
    from relay_aws.settings import Settings

# (the settings it was read with, the policy): a new container (new Settings) never sees the old one
_last_good: tuple[Settings, tuple] | None = None


def current() -> RelayConfig:
    """Rebuilt only when the secret's API keys or HMAC secret change (the secret is cached 5 minutes).

    Raises SecretUnavailable only when the secret cannot be read and this container never read it.
    """
    global _last_good
    from relay_aws import settings, token

    loaded = settings.load()
    try:
        policy = token.auth_policy()
    except (MetaError, SecretUnavailable):
        if _last_good is None or _last_good[0] is not loaded:
            raise  # fail closed: nobody can be checked against a policy never read
        policy = _last_good[1]  # the secret store is down: keep checking callers as before
    else:
        _last_good = (loaded, policy)
    return _build(*policy)


@lru_cache(maxsize=4)
def _build(api_keys: tuple[str, ...], hmac_secret: str | tuple[str, ...] | None) -> RelayConfig:
    from relay_aws import settings

    return settings.relay_config(settings.load(), api_keys=api_keys, hmac_secret=hmac_secret)
