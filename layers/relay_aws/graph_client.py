"""The container's one Meta client: its pooled connections outlive the request that opened them."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capi_relay.meta_client import MetaClient

CONNECT_TIMEOUT_S = 3.05  # just over a TCP retransmission window (requests' advice)


@cache
def get() -> MetaClient:
    """Built on first use from the settings; reused by every later invocation of this container.

    MetaClient brings `requests` (~60 ms of imports): it is loaded here, when the first request is
    about to send, not when the handler module is imported.
    """
    from capi_relay.meta_client import MetaClient
    from relay_aws import settings

    loaded = settings.load()
    timeout = (CONNECT_TIMEOUT_S, loaded.meta_timeout_s)
    return MetaClient(loaded.graph_url, loaded.api_version, timeout=timeout)
