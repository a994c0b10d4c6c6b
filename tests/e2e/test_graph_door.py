"""The Graph door of `make run`: the base URL printed in READY is all Meta's Python SDK needs."""

from __future__ import annotations

import time

import pytest
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData
from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.exceptions import FacebookRequestError

from tests.conftest import API_VERSION, PIXEL_ID

META_LOOKING = "EAAB0e2eGraphDoorCanaryZCZBq81xYzZD"


def event(order: str) -> Event:
    return Event(
        event_name="Purchase",
        event_time=int(time.time()) - 5,
        event_id=order,
        event_source_url="https://shop.example/thanks",
        action_source=ActionSource.WEBSITE,
        user_data=UserData(
            emails=["e2e.graph@shop.example"], client_ip_address="203.0.113.7", client_user_agent="UA"
        ),
        custom_data=CustomData(value=12.5, currency="usd"),
    )


def test_ready_prints_the_graph_base_url_and_the_python_sdk_sends_through_it(local_stack, monkeypatch):
    # Given the base URL `make run` prints, set as the SDK's Graph URL (the one line a user changes)
    base = local_stack.info["graph_base_url"]
    assert base == local_stack.info["api"]
    monkeypatch.setattr(FacebookSession, "GRAPH", base)
    previous = FacebookAdsApi.get_default_api()
    try:
        FacebookAdsApi.init(access_token="local-key", api_version=API_VERSION, crash_log=False)
        # When the SDK sends with a test code
        request = EventRequest(pixel_id=PIXEL_ID, events=[event("e2e-graph-1")], test_event_code="E2EGRAPH")
        response = request.execute()
        # Then Meta (the sandbox) has it under that code
        assert response.events_received == 1
        assert [e["event"]["event_id"] for e in local_stack.graph_events("E2EGRAPH")] == ["e2e-graph-1"]
        # And a Meta token is refused, and not in anything the stack printed
        FacebookAdsApi.init(access_token=META_LOOKING, api_version=API_VERSION, crash_log=False)
        with pytest.raises(FacebookRequestError) as raised:
            EventRequest(
                pixel_id=PIXEL_ID, events=[event("e2e-graph-2")], test_event_code="E2EGRAPH"
            ).execute()
        assert raised.value.api_error_code() == 190
        assert META_LOOKING not in local_stack.log()
        assert "meta_token_refused" in local_stack.log()
    finally:
        FacebookAdsApi.set_default_api(previous)
