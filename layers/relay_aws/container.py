"""What a Lambda container keeps between invocations, and the one way to forget it all.

Lambda reuses a container: settings, boto3 clients, the Meta client's pooled connections, the secret
(Powertools' 5-minute cache) and the last good auth policy live until it is recycled. Local mode
and tests change the environment between invocations; `reset()` makes the next invocation start
like a new container, instead of each caller clearing private caches it happens to know about.
"""

from __future__ import annotations

import sys


def reset() -> None:
    """Forget every per-container cache, so the next invocation reads the environment and secret again.

    In every imported `relay_aws` module: its own `clear_cache()` runs first, if it has one (state
    that is not a functools cache: dicts, clients to close), then every functools cache it defines
    is cleared. A cache added later is covered without touching this.
    """
    if "relay_aws.graph_client" in sys.modules:  # only what this process imported holds anything
        from relay_aws import graph_client

        if graph_client.get.cache_info().currsize:
            graph_client.get().close()
    modules = [
        (name, module)
        for name, module in list(sys.modules.items())
        if name.startswith("relay_aws.") and name != __name__ and module is not None
    ]
    for name, module in modules:
        hook = vars(module).get("clear_cache")
        if callable(hook) and getattr(hook, "__module__", None) == name:
            hook()
    for name, module in modules:
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()
    if "relay_aws.config" in sys.modules:
        from relay_aws import config

        config._last_good = None  # the stale-while-error policy belonged to the old container
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()  # its boto3 client holds the previous endpoint
