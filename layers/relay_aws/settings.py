"""The deployment's settings: read from the environment once per container, then reused.

template.yaml sets every variable; local mode and tests set the same names (docs/CONTRACTS.md).
No `from __future__ import annotations`: see capi_relay.model (a NamedTuple's string annotations).
"""

import os
from collections.abc import Mapping
from functools import cache
from typing import NamedTuple

from capi_relay.model import RelayConfig
from relay_aws import metric_names

DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v24.0"
_TRUE = frozenset({"1", "true", "yes", "on"})


class Settings(NamedTuple):
    """Everything the handlers read from the environment, already typed."""

    pixel_ids: tuple[str, ...]
    api_version: str
    graph_url: str
    secret_id: str
    retry_queue_url: str
    dlq_url: str
    allowed_origins: tuple[str, ...]
    allowed_url_domains: tuple[str, ...]
    default_region: str | None
    trusted_proxy: bool
    ldu_default: bool
    retry_base_delay_s: float
    retry_max_attempts: int
    meta_timeout_s: float
    metrics_namespace: str
    service: str
    open_relay: bool = False  # OPEN_RELAY (template OpenRelay, for trials): no credentials needed
    browser_max_events: int = 20  # BROWSER_MAX_EVENTS: events a request from a caller with an Origin only
    secret_max_age_s: int = 300  # SECRET_MAX_AGE_S: how long a read secret is reused (local mode: 0)
    lookback_hours: int = 24  # volume watch: hours compared with the same hours a week earlier


def _items(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def from_env(env: Mapping[str, str]) -> Settings:
    """Settings from any mapping (tests pass a dict; `load` passes os.environ)."""
    return Settings(
        pixel_ids=_items(env.get("META_PIXEL_ID")),
        api_version=env.get("META_API_VERSION") or DEFAULT_API_VERSION,
        graph_url=(env.get("META_GRAPH_URL") or DEFAULT_GRAPH_URL).rstrip("/"),
        secret_id=env.get("SECRET_ID", ""),
        retry_queue_url=env.get("RETRY_QUEUE_URL", ""),
        dlq_url=env.get("DLQ_URL", ""),
        allowed_origins=_items(env.get("ALLOWED_ORIGINS")),
        allowed_url_domains=_items(env.get("ALLOWED_URL_DOMAINS")),
        default_region=(env.get("DEFAULT_REGION") or "").strip().lower() or None,
        trusted_proxy=_flag(env.get("TRUSTED_PROXY")),
        ldu_default=_flag(env.get("LDU_DEFAULT")),
        retry_base_delay_s=float(env.get("RETRY_BASE_DELAY_S") or 30),
        retry_max_attempts=int(env.get("RETRY_MAX_ATTEMPTS") or 12),
        meta_timeout_s=float(env.get("META_TIMEOUT_S") or 8),
        metrics_namespace=env.get("METRICS_NAMESPACE") or metric_names.NAMESPACE,
        service=env.get("POWERTOOLS_SERVICE_NAME") or metric_names.SERVICE,
        open_relay=_flag(env.get("OPEN_RELAY")),
        browser_max_events=int(env.get("BROWSER_MAX_EVENTS") or 20),
        secret_max_age_s=int(env.get("SECRET_MAX_AGE_S") or 300),
        lookback_hours=int(env.get("LOOKBACK_HOURS") or 24),
    )


@cache
def load() -> Settings:
    """The settings of this container: the environment does not change after a cold start."""
    return from_env(os.environ)


def relay_config(
    settings: Settings, *, api_keys: tuple[str, ...] = (), hmac_secret: str | tuple[str, ...] | None = None
) -> RelayConfig:
    """The domain's configuration; API keys and the HMAC secret come from the secret, not the env."""
    from relay_aws.retry_queue import WORST_WRITE_S
    from relay_aws.token import WORST_READ_S

    ldu = settings.ldu_default
    return RelayConfig(
        pixel_ids=settings.pixel_ids,
        default_region=settings.default_region,
        trusted_proxy=settings.trusted_proxy,
        allowed_origins=settings.allowed_origins,
        allowed_url_domains=settings.allowed_url_domains,
        # Meta: LDU with country/state 0 asks Meta to geolocate the event and apply the law there
        data_processing_options=["LDU"] if ldu else None,
        dpo_country=0 if ldu else None,
        dpo_state=0 if ldu else None,
        api_keys=api_keys,
        hmac_secret=hmac_secret,
        credentials_read_s=WORST_READ_S,
        queue_write_s=WORST_WRITE_S,
        open_relay=settings.open_relay,
        browser_max_events=settings.browser_max_events,
    )
