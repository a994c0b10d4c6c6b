"""capi-relay's domain: plain Python, no AWS. Names are loaded on first use, so importing is nearly free.

A cold start pays only for what its first request touches: `requests` comes with MetaClient,
`phonenumbers` with normalization.
"""

from __future__ import annotations

import sys

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
