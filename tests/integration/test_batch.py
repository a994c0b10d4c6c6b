"""Batching: ≤ 1000 events a Graph request, ≤ a size a queue message, and bisecting a refused batch."""

from __future__ import annotations

import json
import time

import pytest

from capi_relay.batch import by_size, chunks, halves
from capi_relay.delivery import Sender, deliver
from capi_relay.errors import PermanentMetaError, SecretUnavailable, TransientMetaError
from capi_relay.hashing import sha256_hex
from capi_relay.meta_client import MetaClient
from capi_relay.model import Credentials

PIXEL_ID = "1234567890"  # what tests/conftest.py's graph sandbox knows
TOKEN = "sandbox-token-3c9e51"


def test_chunks_cut_at_1000():
    # Given 2001 items
    # When they are cut into request-sized chunks
    sizes = [len(c) for c in chunks(list(range(2001)))]
    # Then the chunks are 1000, 1000 and 1, in order
    assert sizes == [1000, 1000, 1]
    assert [c[0] for c in chunks(list(range(2001)))] == [0, 1000, 2000]


def test_chunks_of_nothing_is_nothing():
    assert list(chunks([])) == []


def test_halves_split_in_the_middle_and_refuse_a_single_item():
    assert halves([1, 2, 3, 4, 5]) == ([1, 2], [3, 4, 5])
    with pytest.raises(ValueError):
        halves([1])


def test_by_size_keeps_each_group_under_the_limit_and_the_order():
    # Given 50 events of about 1 KB each
    events = [{"n": i, "pad": "x" * 1000} for i in range(50)]
    # When they are grouped under 10 KB
    groups = list(by_size(events, 10_000))
    # Then each group's JSON fits, and nothing is lost or reordered
    assert all(len(json.dumps(g, separators=(",", ":"))) <= 10_000 for g in groups)
    assert [e["n"] for g in groups for e in g] == list(range(50))
    assert len(groups) > 1


def test_by_size_puts_an_oversized_event_alone():
    events = [{"pad": "x" * 5000}, {"pad": "y"}]
    assert [len(g) for g in by_size(events, 1000)] == [1, 1]


# --- deliver: batches, bisecting, stopping on a transient failure -------------------------------


def lead(n: int, name: str = "Lead") -> dict:
    return {
        "event_name": name,
        "event_time": int(time.time()) - 60,
        "event_id": f"e-{n}",
        "action_source": "system_generated",
        "user_data": {"em": sha256_hex(f"user{n}@example.com")},
    }


@pytest.fixture
def sender(graph_sandbox):
    client = MetaClient(graph_sandbox.url, "v24.0", timeout=(2, 5))
    yield Sender(client, PIXEL_ID, lambda pixel, force: Credentials(TOKEN), None)
    client.close()


def test_1001_events_go_in_two_requests(graph_sandbox, sender):
    # Given 1001 valid events
    events = [lead(n) for n in range(1001)]
    # When they are delivered
    outcome = deliver(events, sender)
    # Then Meta got them all, in two requests of 1000 and 1
    assert outcome.sent == list(range(1001))
    assert outcome.events_received == 1001
    assert [r["events"] for r in graph_sandbox.requests()] == [1000, 1]


def test_bisect_isolates_the_one_event_meta_refuses(graph_sandbox, sender):
    # Given 16 events, of which number 11 is one Meta refuses (the whole request fails with it)
    graph_sandbox.add_fault({"kind": "reject", "event_name": "Poison", "subcode": 2804019})
    events = [lead(n, "Poison" if n == 11 else "Lead") for n in range(16)]
    # When they are delivered
    outcome = deliver(events, sender)
    # Then the 15 others reach Meta, and only number 11 is refused, with Meta's code
    assert outcome.sent == [n for n in range(16) if n != 11]
    assert [(i, e.code, e.subcode) for i, e in outcome.rejected] == [(11, 100, 2804019)]
    assert sorted(e["event"]["event_id"] for e in graph_sandbox.events()) == sorted(
        f"e-{n}" for n in range(16) if n != 11
    )
    # And it took a handful of requests, not one per event
    assert len(graph_sandbox.requests()) <= 2 * 4 + 1


def test_an_error_for_the_whole_pixel_is_not_bisected(graph_sandbox, graph_sandbox_server):
    # Given a pixel Meta does not know (code 100, subcode 33: every event would fail alike)
    client = MetaClient(graph_sandbox.url, "v24.0", timeout=(2, 5))
    sender = Sender(client, "999", lambda pixel, force: Credentials(TOKEN), None)
    # When 8 events are delivered
    outcome = deliver([lead(n) for n in range(8)], sender)
    client.close()
    # Then all are refused after one request
    assert [i for i, _ in outcome.rejected] == list(range(8))
    assert len(graph_sandbox.requests()) == 1


def test_bisect_stops_at_its_request_budget(graph_sandbox, sender):
    # Given every event refused (each alone would fail too) and a budget of 4 extra requests
    graph_sandbox.add_fault({"kind": "reject", "event_name": "Lead"})
    # When 64 events are delivered
    outcome = deliver([lead(n) for n in range(64)], sender, max_bisect_requests=4)
    # Then all are refused, after exactly 1 + 4 requests
    assert sorted(i for i, _ in outcome.rejected) == list(range(64))
    assert len(graph_sandbox.requests()) == 5


def test_a_transient_failure_leaves_the_rest_pending_without_more_requests(graph_sandbox, sender):
    # Given Meta failing with a 503
    events = [lead(n) for n in range(2500)]
    graph_sandbox.add_fault({"kind": "5xx", "status": 503})
    # When 2500 events are delivered
    outcome = deliver(events, sender)
    # Then nothing was sent, all are pending with the transient error, after a single request
    assert outcome.sent == [] and outcome.pending == list(range(2500))
    assert isinstance(outcome.pending_error, TransientMetaError)
    assert len(graph_sandbox.requests()) == 1


def test_token_error_refreshes_credentials_once_and_retries(graph_sandbox):
    # Given a source whose cached token is stale and whose refreshed token is good
    calls = []

    def source(pixel: str, force: bool) -> Credentials:
        calls.append((pixel, force))
        return Credentials(TOKEN if force else "stale-token")

    client = MetaClient(graph_sandbox.url, "v24.0", timeout=(2, 5))
    # When 1500 events are delivered (two requests)
    outcome = deliver([lead(n) for n in range(1500)], Sender(client, PIXEL_ID, source, None))
    client.close()
    # Then the secret was fetched, refreshed once, and every event went
    assert calls == [(PIXEL_ID, False), (PIXEL_ID, True)]
    assert len(outcome.sent) == 1500


def test_a_secret_store_failure_is_a_secret_error_and_the_event_waits():
    # Given a credential source that cannot reach its store
    def broken(pixel: str, force: bool) -> Credentials:
        raise OSError("secrets manager unreachable")

    client = MetaClient("http://127.0.0.1:9", "v24.0")
    outcome = deliver([lead(1)], Sender(client, PIXEL_ID, broken, None))
    client.close()
    # Then the event waits (pending) instead of being lost, for a secret error (not a Meta error)
    assert outcome.pending == [0]
    assert isinstance(outcome.pending_error, SecretUnavailable)


def test_permanent_error_for_a_single_event_is_not_retried(graph_sandbox, sender):
    graph_sandbox.add_fault({"kind": "reject", "event_name": "Lead"})
    outcome = deliver([lead(1)], sender)
    assert [i for i, _ in outcome.rejected] == [0]
    assert isinstance(outcome.rejected[0][1], PermanentMetaError)
    assert len(graph_sandbox.requests()) == 1
