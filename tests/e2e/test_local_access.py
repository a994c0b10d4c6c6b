"""Local mode tries the closed relay a deployed stack has (issue 14, findings 1 and 8): RELAY_API_KEYS
seeds the local secret and closes the relay; a key put into the secret applies at the next request.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest

from local import aws
from tests.e2e.local_stack import LocalStackProcess

FIRST_KEY = "k_local_first-" + uuid.uuid4().hex[:8]
ADDED_KEY = "k_local_added-" + uuid.uuid4().hex[:8]


def lead() -> dict:
    return {
        "event_name": "Lead",
        "event_time": int(time.time()),
        "event_source_url": "https://shop.example/signup",
        "user_data": {"external_id": "cust-1"},
    }


@pytest.fixture(scope="module")
def closed_stack() -> Iterator[LocalStackProcess]:
    with LocalStackProcess.running(RELAY_API_KEYS=f" {FIRST_KEY} ,") as stack:
        yield stack


def test_relay_api_keys_close_local_mode(closed_stack):
    # Given `RELAY_API_KEYS=<key> make run`
    # When a caller without a key posts, then one with it
    stranger = closed_stack.post_events(lead())
    keyed = closed_stack.post_events(lead(), headers={"X-Api-Key": FIRST_KEY})
    # Then the stranger gets 401 and the keyed caller 200, as on a deployed stack
    assert stranger.status_code == 401 and stranger.json()["errors"][0]["code"] == "credentials_missing"
    assert keyed.status_code == 200
    assert "closed" in closed_stack.log()


def test_a_key_put_into_the_local_secret_applies_at_once(closed_stack):
    # Given the relay has just read its secret (a request was served)
    assert closed_stack.post_events(lead(), headers={"X-Api-Key": FIRST_KEY}).status_code == 200
    refused = closed_stack.post_events(lead(), headers={"X-Api-Key": ADDED_KEY})
    assert refused.status_code == 401
    # When the operator adds a key to the secret (as `aws secretsmanager put-secret-value` would)
    token = closed_stack.env.get("META_ACCESS_TOKEN") or "local-dev-token"
    value = aws.secret_value(token, api_keys=[FIRST_KEY, ADDED_KEY])
    aws.put_secret(closed_stack.info["aws_endpoint"], closed_stack.info["secret_id"], value)
    # Then the next request with it is admitted: no five-minute cache in local mode
    admitted = closed_stack.post_events(lead(), headers={"X-Api-Key": ADDED_KEY})
    assert admitted.status_code == 200, json.dumps(admitted.json())
