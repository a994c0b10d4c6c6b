"""The Graph door of `make run`: the base URL printed in READY is all Meta's Python SDK needs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData
from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.exceptions import FacebookRequestError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

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


# --- fuzzing the Graph door from openapi.yaml ------------------------------------------------------

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
GRAPH_OPERATION = schemathesis.openapi.from_path(str(SPEC))["/{version}/{pixel_id}/events"]["POST"]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100")) // 2  # the door is thin: half of /events' budget


def meta_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx the handler gives is Meta's error envelope with an integer code (what SDKs read)."""
    if not 400 <= response.status_code < 500:
        return None
    body = json.loads(response.content)
    if set(body) == {"message"} and response.status_code in (404, 413, 429):
        return None  # API Gateway's own answer, before the handler
    error = body["error"]
    assert isinstance(error["code"], int) and isinstance(error["message"], str) and error["type"], body
    assert "error_subcode" in error and error["fbtrace_id"], body
    return True


def tame(case: Any) -> None:
    """Half the cases get a real version and pixel, so they get past the path to the body checks."""
    case.path_parameters = {"version": API_VERSION, "pixel_id": PIXEL_ID}


@pytest.mark.parametrize(
    "mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE], ids=str
)
def test_generated_graph_requests_get_metas_shapes_and_never_a_5xx(local_stack, mode):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=os.environ.get("FUZZ_RANDOM") != "1",
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=GRAPH_OPERATION.as_strategy(generation_mode=mode), steer=st.booleans())
    def fuzz(case, steer):
        if steer:
            tame(case)
        response = case.call(
            base_url=local_stack.info["api"], session=local_stack.session("graph-fuzz"), timeout=30
        )
        case.validate_response(
            response,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
                meta_envelope,
            ],
        )

    fuzz()
