"""capi-relay's domain: plain Python, no AWS. Names are loaded on first use, so importing is nearly free.

A cold start pays only for what its first request touches: `requests` comes with MetaClient,
`phonenumbers` with normalization.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names' types, for type checkers; at run time __getattr__ loads each on first use
    from capi_relay.errors import BadRequest as BadRequest
    from capi_relay.errors import FieldError as FieldError
    from capi_relay.errors import Forbidden as Forbidden
    from capi_relay.errors import MetaError as MetaError
    from capi_relay.errors import PayloadTooLarge as PayloadTooLarge
    from capi_relay.errors import PermanentMetaError as PermanentMetaError
    from capi_relay.errors import QueueUnavailable as QueueUnavailable
    from capi_relay.errors import Refused as Refused
    from capi_relay.errors import RelayError as RelayError
    from capi_relay.errors import TokenMetaError as TokenMetaError
    from capi_relay.errors import TransientMetaError as TransientMetaError
    from capi_relay.errors import Unauthorized as Unauthorized
    from capi_relay.hashing import sha256_hex as sha256_hex
    from capi_relay.meta_client import MetaClient as MetaClient
    from capi_relay.meta_client import MetaResponse as MetaResponse
    from capi_relay.model import Credentials as Credentials
    from capi_relay.model import IngestRequest as IngestRequest
    from capi_relay.model import RedeliveryResult as RedeliveryResult
    from capi_relay.model import RelayConfig as RelayConfig
    from capi_relay.model import RelayResult as RelayResult
    from capi_relay.normalize import normalize_user_data as normalize_user_data
    from capi_relay.redeliver import redeliver_message as redeliver_message
    from capi_relay.relay import relay_request as relay_request

_EXPORTS = {
    "normalize_user_data": "normalize",
    "sha256_hex": "hashing",
    "IngestRequest": "model",
    "RelayConfig": "model",
    "Credentials": "model",
    "RelayResult": "model",
    "RedeliveryResult": "model",
    "relay_request": "relay",
    "redeliver_message": "redeliver",
    "MetaClient": "meta_client",
    "MetaResponse": "meta_client",
    "FieldError": "errors",
    "RelayError": "errors",
    "Refused": "errors",
    "BadRequest": "errors",
    "PayloadTooLarge": "errors",
    "Unauthorized": "errors",
    "Forbidden": "errors",
    "MetaError": "errors",
    "TransientMetaError": "errors",
    "TokenMetaError": "errors",
    "PermanentMetaError": "errors",
    "QueueUnavailable": "errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'capi_relay' has no attribute {name!r}")
    __import__(f"capi_relay.{module}")
    value = getattr(sys.modules[f"capi_relay.{module}"], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
