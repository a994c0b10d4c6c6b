"""The domain's RelayConfig for this deployment: the environment's settings plus the secret's auth keys."""

from __future__ import annotations

from functools import lru_cache

from capi_relay.model import RelayConfig


def current() -> RelayConfig:
    """Rebuilt only when the secret's API keys or HMAC secret change (the secret is cached 5 minutes)."""
    from relay_aws import token

    api_keys, hmac_secret = token.auth_policy()
    return _build(api_keys, hmac_secret)


@lru_cache(maxsize=4)
def _build(api_keys: tuple[str, ...], hmac_secret: str | tuple[str, ...] | None) -> RelayConfig:
    from relay_aws import settings

    return settings.relay_config(settings.load(), api_keys=api_keys, hmac_secret=hmac_secret)
