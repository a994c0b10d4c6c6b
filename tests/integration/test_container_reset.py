"""`relay_aws.container.reset()`: the one way local mode and tests start the next invocation afresh.

Lambda keeps settings, clients, the secret and the last good auth policy for the container's life;
after a reset, the next invocation must see a changed environment and a rotated secret at once,
like a new container, and must not keep a policy read by the old one.
"""

from __future__ import annotations

import sys
import types

import pytest

from capi_relay.errors import SecretUnavailable
from relay_aws import config, container, graph_client, retry_queue, settings, token
from tests.conftest import META_TOKEN, PIXEL_ID


@pytest.fixture
def fresh(handler_env, local_aws):
    container.reset()
    yield local_aws
    container.reset()


def test_after_a_reset_the_next_invocation_reads_the_environment_and_secret_again(fresh, monkeypatch):
    # Given a container that has read its settings, its token and built its clients
    assert settings.load().pixel_ids == (PIXEL_ID,)
    assert token.credentials(PIXEL_ID).access_token == META_TOKEN
    meta, queue = graph_client.get(), retry_queue.sink()
    # When the operator redeploys with other settings and rotates the token
    monkeypatch.setenv("META_PIXEL_ID", "999000111")
    monkeypatch.setenv("META_GRAPH_URL", "http://127.0.0.1:9/elsewhere")
    fresh.put_token("rotated-token-41d2")
    # Then the warm container still uses what it read (as Lambda does) ...
    assert settings.load().pixel_ids == (PIXEL_ID,)
    assert token.credentials(PIXEL_ID).access_token == META_TOKEN
    # ... and after a reset everything is read again, as by a new container
    container.reset()
    assert settings.load().pixel_ids == ("999000111",)
    assert token.credentials(PIXEL_ID).access_token == "rotated-token-41d2"
    assert graph_client.get() is not meta and graph_client.get().graph_url == "http://127.0.0.1:9/elsewhere"
    assert retry_queue.sink() is not queue


def test_a_reset_container_does_not_keep_the_old_containers_auth_policy(fresh, monkeypatch):
    # Given a container that has read its auth policy once
    fresh.put_token(META_TOKEN, api_keys=["key-one"])
    assert config.current().api_keys == ("key-one",)
    # When it is reset and the secret cannot be read any more
    monkeypatch.setenv("SECRET_ID", "capi-relay/no-such-secret")
    container.reset()
    # Then it fails closed like a new container, instead of checking callers with a policy it never read
    with pytest.raises(SecretUnavailable):
        config.current()


def test_reset_before_anything_was_used_is_harmless(handler_env):
    # Given a fresh process state (nothing cached yet), reset twice
    container.reset()
    container.reset()
    # Then the settings still load from the environment
    assert settings.load().pixel_ids == (PIXEL_ID,)


def test_a_module_with_its_own_container_state_is_reset_through_its_clear_cache(monkeypatch, handler_env):
    # Given a relay_aws module that keeps per-container state in a plain dict, and says how to clear it
    module = types.ModuleType("relay_aws.example_state")
    module.remembered = {"pixel": "last good value"}

    def clear_cache() -> None:
        module.remembered.clear()

    clear_cache.__module__ = module.__name__
    module.clear_cache = clear_cache
    monkeypatch.setitem(sys.modules, module.__name__, module)
    # When the container is reset
    container.reset()
    # Then its state is gone, like in a new container
    assert module.remembered == {}
