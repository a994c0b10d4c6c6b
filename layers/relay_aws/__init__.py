"""AWS adapters for capi_relay: HTTP API events, the SQS retry queue, the secret, metrics, settings.

Submodules are imported where they are used (`from relay_aws import settings`) so a cold start
pays only for what its first request needs.
"""
