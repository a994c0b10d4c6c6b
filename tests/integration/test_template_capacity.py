"""template.yaml bounds the relay's share of the account (issue 14, finding 3): reserved concurrency on
ingest and a concurrency cap on the retry queue's poller, both from parameters that cannot be 0."""

from __future__ import annotations

import pytest
import yaml

from tests.integration.test_template_monitoring import TEMPLATE, CfnLoader


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 (SafeLoader)


def test_ingest_reserves_concurrency_from_a_parameter_that_cannot_be_zero(template):
    reserved = template["Resources"]["IngestFunction"]["Properties"]["ReservedConcurrentExecutions"]
    parameter = template["Parameters"][reserved["Ref"]]
    # 0 would stop the relay; no default may take the account's whole 1,000
    assert parameter["MinValue"] >= 1 and 1 <= parameter["Default"] < 1000
    assert parameter["Default"] <= parameter.get("MaxValue", 1000)


def test_retry_poller_concurrency_is_capped_by_a_parameter_within_sqs_limits(template):
    source = template["Resources"]["RetryFunction"]["Properties"]["Events"]["RetryQueueMessages"]
    cap = source["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    parameter = template["Parameters"][cap["Ref"]]
    assert parameter["MinValue"] >= 2 and parameter["MaxValue"] <= 1000  # SQS event source: 2 to 1000
    assert parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"]


def test_ingest_timeout_outlasts_the_api_gateway_integration_no_longer_than_needed(template):
    ingest = template["Resources"]["IngestFunction"]["Properties"]
    integration_ms = template["Resources"]["HttpApiIntegration"]["Properties"]["TimeoutInMillis"]
    # the function stops its Graph calls before its own timeout, so the API never answers 504 first
    assert ingest["Timeout"] * 1000 < integration_ms
