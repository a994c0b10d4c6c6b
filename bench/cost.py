"""Monthly cost at 1M / 10M / 100M events: capi-relay on Lambda vs Meta's CAPI Gateway on App Runner.

Prices are AWS list prices for us-east-1 without free tiers (free tiers would only favour us), each with
the page it comes from and the date we read it. Where a price page renders its rates from templates,
`seen_in` names the copy in which we read the number. Every assumption that is not a published price
is named in ASSUMPTIONS; where we were unsure we chose in favour of the Gateway, so its figure is a floor.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

READ_ON = "2026-11-25"
HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
FULL_VCPU_MB = 1769  # Lambda: CPU share grows with memory; one full vCPU at 1,769 MB
FRONT_DOORS = ("HttpApi", "FunctionUrl")


@dataclass(frozen=True, slots=True)
class Price:
    """One published unit price and where it was read."""

    usd: float
    unit: str
    url: str
    read_on: str = READ_ON
    seen_in: str | None = None  # when the official page shows the number only through a copy or example


PRICES: dict[str, Price] = {
    "lambda_arm_gb_second": Price(
        0.0000133334,
        "per GB-second, Arm, first 7.5 billion GB-s/month",
        "https://aws.amazon.com/lambda/pricing/",
        seen_in="https://cloudchipr.com/blog/aws-lambda-pricing (tier table quoted from the AWS page)",
    ),
    "lambda_request": Price(
        0.20 / 1e6,
        "per request ($0.20 per 1M)",
        "https://aws.amazon.com/lambda/pricing/",
        seen_in="https://cloudchipr.com/blog/aws-lambda-pricing",
    ),
    "http_api_request": Price(
        1.00 / 1e6,
        "per HTTP API call, first 300M/month ($1.00 per 1M; $0.90 after)",
        "https://aws.amazon.com/api-gateway/pricing/",
        seen_in="https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/"
        "cost-optimization.html (Table 4)",
    ),
    "sqs_request": Price(
        0.40 / 1e6,
        "per standard-queue request, 64 KB chunks ($0.40 per 1M)",
        "https://aws.amazon.com/sqs/pricing/",
        seen_in="https://cloudburn.io/blog/amazon-sqs-pricing",
    ),
    "secret_month": Price(
        0.40,
        "per secret per month",
        "https://aws.amazon.com/secrets-manager/pricing/",
        seen_in="pricing example on the AWS page",
    ),
    "secret_api_call": Price(
        0.05 / 10_000,
        "per API call ($0.05 per 10,000)",
        "https://aws.amazon.com/secrets-manager/pricing/",
        seen_in="pricing example on the AWS page",
    ),
    "cw_logs_ingest_gb": Price(
        0.50,
        "per GB of CloudWatch Logs ingested (standard class)",
        "https://aws.amazon.com/cloudwatch/pricing/",
        seen_in="https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/",
    ),
    "cw_custom_metric_month": Price(
        0.30,
        "per custom metric per month (first 10,000), prorated by the hour: only hours it receives data",
        "https://aws.amazon.com/cloudwatch/pricing/",
        seen_in="https://cloudburn.io/blog/amazon-cloudwatch-pricing",
    ),
    "cw_alarm_month": Price(
        0.10,
        "per standard-resolution alarm metric per month",
        "https://aws.amazon.com/cloudwatch/pricing/",
        seen_in="https://cloudburn.io/blog/amazon-cloudwatch-pricing",
    ),
    "cw_dashboard_month": Price(
        3.00,
        "per custom dashboard per month",
        "https://aws.amazon.com/cloudwatch/pricing/",
        seen_in="https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/",
    ),
    "apprunner_provisioned_gb_hour": Price(
        0.007,
        "per GB-hour of provisioned container memory",
        "https://aws.amazon.com/apprunner/pricing/",
        seen_in="https://aws.amazon.com/jp/apprunner/pricing/ (US East rate)",
    ),
    "apprunner_active_vcpu_hour": Price(
        0.064,
        "per vCPU-hour of an active container instance",
        "https://aws.amazon.com/apprunner/pricing/",
        seen_in="https://aws.amazon.com/jp/apprunner/pricing/ (US East rate)",
    ),
    "apprunner_active_gb_hour": Price(
        0.007,
        "per GB-hour of an active container instance's memory",
        "https://aws.amazon.com/apprunner/pricing/",
        seen_in="https://aws.amazon.com/jp/apprunner/pricing/ (US East rate)",
    ),
}

SOURCES = {
    "gateway_architecture": (
        "https://developers.facebook.com/docs/marketing-api/conversions-api/guides/gateway-aws-app-runner/"
        "architecture",
        "App Runner runs the data and control plane, one container by default; DynamoDB holds configuration; "
        "Timestream and Amazon Managed Prometheus hold metrics; EventBridge Scheduler runs periodic jobs.",
    ),
    "gateway_capacity": (
        "https://developers.facebook.com/docs/marketing-api/conversions-api/guides/gateway-aws-app-runner/"
        "scaling-control",
        "By default the Gateway processes up to 100 events per second; raising it may raise fees.",
    ),
    "apprunner_instance_default": (
        "https://docs.aws.amazon.com/apprunner/latest/api/API_InstanceConfiguration.html",
        "App Runner instance default: 1 vCPU, 2 GB.",
    ),
    "apprunner_availability": (
        "https://docs.aws.amazon.com/apprunner/latest/dg/architecture.html",
        "App Runner is no longer open to new customers from April 30, 2026.",
    ),
}

ASSUMPTIONS = {
    "events_per_request": (1, "website traffic: the browser snippet sends one event per request"),
    "meta_round_trip_ms": (120, "Lambda waits on graph.facebook.com; billed as duration (not measured here)"),
    "transient_failure_rate": (0.01, "share of requests queued for retry (1 send + 1 receive + 1 delete)"),
    "sqs_idle_polls_per_month": (
        5 * 3 * 60 * HOURS_PER_MONTH,
        "Lambda's SQS event source long-polls the empty retry queue: ~5 pollers x 20 s waits",
    ),
    "secret_refresh_s": (300, "Powertools secret cache max_age: one GetSecretValue per container per 5 min"),
    "log_bytes_per_invocation": (
        1400,
        "used only when not measured (the old assumption: log line + EMF + START/END/REPORT)",
    ),
    "request_cpu_ms": (
        10.0,
        "the ingest handler's own CPU per request at one full vCPU; used only when not measured",
    ),
    "metrics_every_hour": (1, "VolumeChangePercent: the volume watch publishes it hourly, traffic or not"),
    "metrics_with_traffic": (
        3,
        "EventsReceived, EventsSent, EventsRejected: written in every hour with requests (zeros are not)",
    ),
    "metrics_with_failures": (
        5,
        "EventsQueued, EventsDeadLettered, MetaErrorsTransient/Token/Permanent: only in hours with a failure",
    ),
    "alarm_metrics": (
        10,
        "6 single-metric alarms (volume drop, no events, DLQ, retry age, token errors, volume watch errors)"
        " + ingest errors (2 metrics: front door 5xx, throttles) + rejection rate (2); billed per metric",
    ),
    "dashboards": (1, "one CloudWatch dashboard"),
    "gateway_vcpu": (1, "App Runner default instance size (no size stated in Meta's pages we read)"),
    "gateway_memory_gb": (2, "App Runner default instance size"),
    "gateway_events_per_instance_s": (100, "Meta's default event capacity"),
    "gateway_stores_usd": (
        0.0,
        "DynamoDB config, Timestream and Managed Prometheus metrics: usage-priced, not counted (a floor)",
    ),
}


def _a(name: str) -> float:
    return ASSUMPTIONS[name][0]


def _p(name: str) -> float:
    return PRICES[name].usd


def duration_ms(cpu_ms: float, memory_mb: int, wait_ms: float | None = None) -> float:
    """One invocation's billed time: its CPU, slowed by the memory's CPU share, plus the wait for Meta."""
    wait = _a("meta_round_trip_ms") if wait_ms is None else wait_ms
    return wait + cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb)


def _share_of_hours(per_hour: float) -> float:
    """Share of the month's hours in which at least one of `per_hour` (Poisson) things happens."""
    return 1 - math.exp(-per_hour)


def relay_month(
    events: float,
    duration_ms: float,
    memory_mb: int,
    events_per_request: int | None = None,
    *,
    log_bytes: float | None = None,
    front_door: str = "HttpApi",
) -> dict[str, float]:
    """capi-relay's bill for `events` a month: per-request services scale, a few fixed lines do not.

    `log_bytes` is what one invocation writes to CloudWatch Logs (measured by the bench); a custom
    metric costs only for the hours it receives data (the ingest writes no zero counts).
    """
    if front_door not in FRONT_DOORS:
        raise ValueError(f"front door must be one of {FRONT_DOORS}")
    requests = events / (events_per_request or _a("events_per_request"))
    billed_s = math.ceil(duration_ms) / 1000  # Lambda bills duration rounded up to 1 ms
    # warm containers, each re-reading the secret every few minutes; none while nothing arrives
    concurrency = max(1.0, requests / SECONDS_PER_MONTH * billed_s) if requests else 0.0
    failed = requests * _a("transient_failure_rate")
    per_log = _a("log_bytes_per_invocation") if log_bytes is None else log_bytes
    metric_months = (
        _a("metrics_every_hour")
        + _a("metrics_with_traffic") * _share_of_hours(requests / HOURS_PER_MONTH)
        + _a("metrics_with_failures") * _share_of_hours(failed / HOURS_PER_MONTH)
    )
    lines = {
        "lambda_requests": requests * _p("lambda_request"),
        "lambda_duration": requests * billed_s * memory_mb / 1024 * _p("lambda_arm_gb_second"),
        "http_api": requests * _p("http_api_request") if front_door == "HttpApi" else 0.0,
        "sqs": (failed * 3 + _a("sqs_idle_polls_per_month")) * _p("sqs_request"),
        "secrets_manager": _p("secret_month")
        + concurrency * SECONDS_PER_MONTH / _a("secret_refresh_s") * _p("secret_api_call"),
        "cloudwatch_logs": requests * per_log / 1e9 * _p("cw_logs_ingest_gb"),
        "cloudwatch_metrics": metric_months * _p("cw_custom_metric_month"),
        "cloudwatch_alarms_dashboard": _a("alarm_metrics") * _p("cw_alarm_month")
        + _a("dashboards") * _p("cw_dashboard_month"),
    }
    lines["total"] = sum(lines.values())
    return lines


def gateway_month(events: float) -> dict[str, float]:
    """Meta's CAPI Gateway on App Runner: one instance always provisioned, active while traffic flows."""
    rate_per_min = events / (HOURS_PER_MONTH * 60)
    active_share = 1 - math.exp(-rate_per_min)  # a minute with at least one request keeps the instance active
    instances = max(1.0, events / SECONDS_PER_MONTH / _a("gateway_events_per_instance_s"))
    memory, vcpu = _a("gateway_memory_gb"), _a("gateway_vcpu")
    active_h = HOURS_PER_MONTH * active_share * instances
    lines = {
        "apprunner_provisioned_memory": HOURS_PER_MONTH
        * instances
        * (1 - active_share)
        * memory
        * _p("apprunner_provisioned_gb_hour"),
        "apprunner_active": active_h
        * (vcpu * _p("apprunner_active_vcpu_hour") + memory * _p("apprunner_active_gb_hour")),
        "stores": _a("gateway_stores_usd"),
    }
    lines["total"] = sum(lines.values())
    return lines


def break_even(
    duration_ms: float, memory_mb: int, events_per_request: int = 1, **options: Any
) -> float | None:
    """Events a month above which the always-on Gateway costs less than the relay (None: never below 10B)."""
    low, high = 1e3, 1e10

    def relay(events: float) -> float:
        return relay_month(events, duration_ms, memory_mb, events_per_request, **options)["total"]

    if relay(high) < gateway_month(high)["total"]:
        return None
    for _ in range(100):
        mid = math.sqrt(low * high)
        low, high = (mid, high) if relay(mid) < gateway_month(mid)["total"] else (low, mid)
    return high


def model(
    duration_ms: float,
    memory_mb: int,
    *,
    batch_size: int = 100,
    batch_duration_ms: float | None = None,
    volumes: tuple[int, ...] = (10**6, 10**7, 10**8),
    log_bytes: float | None = None,
    log_bytes_batch: float | None = None,
) -> dict:
    """The comparison table, for both front doors, plus the inputs it was computed from.

    `duration_ms` is one single-event invocation; `batch_duration_ms` one invocation carrying
    `batch_size` events, as a backend sends them (server-to-server). `log_bytes`/`log_bytes_batch`:
    what each writes to CloudWatch Logs, measured (else the assumption).
    """
    batch_duration_ms = batch_duration_ms or duration_ms
    log_bytes_batch = log_bytes if log_bytes_batch is None else log_bytes_batch
    single = {"log_bytes": log_bytes}
    batched = {"log_bytes": log_bytes_batch}
    url = {"front_door": "FunctionUrl"}
    rows = []
    for events in volumes:
        rows.append(
            {
                "events_per_month": events,
                "relay": relay_month(events, duration_ms, memory_mb, **single),
                "relay_function_url": relay_month(events, duration_ms, memory_mb, **single, **url),
                "relay_batched": relay_month(events, batch_duration_ms, memory_mb, batch_size, **batched),
                "gateway": gateway_month(events),
            }
        )
    fixed = relay_month(0, duration_ms, memory_mb)["total"]
    fixed_url = relay_month(0, duration_ms, memory_mb, **url)["total"]
    per_million = relay_month(10**6, duration_ms, memory_mb, **single)["total"] - fixed
    per_million_url = relay_month(10**6, duration_ms, memory_mb, **single, **url)["total"] - fixed_url
    per_million_batched = (
        relay_month(10**6, batch_duration_ms, memory_mb, batch_size, **batched)["total"] - fixed
    )
    return {
        "duration_ms": duration_ms,
        "batch_size": batch_size,
        "batch_duration_ms": batch_duration_ms,
        "memory_mb": memory_mb,
        "log_bytes_per_request": log_bytes,
        "log_bytes_per_batch_request": log_bytes_batch,
        "relay_fixed_usd_per_month": fixed,
        "relay_fixed_usd_per_month_function_url": fixed_url,
        "fixed_lines": relay_month(0, duration_ms, memory_mb),
        "cost_usd_per_million": per_million,
        "cost_usd_per_million_function_url": per_million_url,
        "cost_usd_per_million_batched": per_million_batched,
        "cost_usd_month_100m_single": relay_month(10**8, duration_ms, memory_mb, **single)["total"],
        "cost_usd_month_100m_single_function_url": relay_month(
            10**8, duration_ms, memory_mb, **single, **url
        )["total"],
        "break_even_events_per_month": break_even(duration_ms, memory_mb, **single),
        "break_even_events_per_month_function_url": break_even(duration_ms, memory_mb, **single, **url),
        "break_even_events_per_month_batched": break_even(
            batch_duration_ms, memory_mb, batch_size, **batched
        ),
        "rows": rows,
        "prices": {name: asdict(price) for name, price in PRICES.items()},
        "assumptions": {name: {"value": v, "why": why} for name, (v, why) in ASSUMPTIONS.items()},
        "sources": {name: {"url": url, "says": says} for name, (url, says) in SOURCES.items()},
    }
