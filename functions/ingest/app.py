"""POST /events: turn an HTTP API request into Meta events; send them now or queue them.

API Gateway routes only POST /events and POST /{version}/{pixel_id}/events (Meta's own shape, the
"Graph door") here, so rawPath is the router: Powertools' event handler would add ~70 ms of imports
to every cold start for nothing. A function URL (FrontDoor=FunctionUrl) sends every method and path
here; anything but those two routes answers 404 before any work.

CloudWatch bills each byte written here: one INFO line per request (counts, codes, request id) and one
EMF document of the non-zero counts. Powertools' Lambda-context keys (ARN, memory, cold start, ...)
would repeat on every line what Lambda's own REPORT line and metrics already say.
"""

import json
import time
from collections.abc import Callable

from capi_relay.errors import MetaError, QueueUnavailable, Refused, SecretUnavailable
from capi_relay.relay import relay_request
from relay_aws import (
    config,
    emf,
    graph_client,
    http_request,
    log_privacy,
    metrics,
    retry_queue,
    settings,
    token,
)

logger = log_privacy.logger()  # service and level from the template; user-data keys masked
recorder = emf.Metrics(namespace=settings.load().metrics_namespace, service=settings.load().service)
RETRY_LATER = {"Retry-After": "5"}
NOT_FOUND = json.dumps({"message": "Not Found"})  # what API Gateway answers for another route


def post_events(event: dict, context: object, graph: bool = False) -> tuple[int, dict, dict]:
    request = http_request.parse(event)  # body, cookies, IP, UA
    if graph:  # Meta's request shape → the relay's own
        from capi_relay import graph_shape  # only the Graph door's requests pay for its import

        request = graph_shape.relay_request(request, event["rawPath"], config.current())
    result = relay_request(
        request,
        config=config.current(),
        client=graph_client.get(),
        credentials=token.source(),
        sink=retry_queue.sink(),
        now=time.time(),
        all_or_nothing=graph,
        remaining=remaining_s(context),
    )
    metrics.record_relay(recorder, result)
    # event ids are the caller's (an order number, say): never logged; the response carries them
    logger.info("relayed", request_id=request.request_id, **metrics.outcome_fields(result))
    return result.status, result.body, {}


def remaining_s(context: object) -> Callable[[], float] | None:
    """The invocation's seconds left, as the domain takes it: a plain callable (None without a context)."""
    millis = getattr(context, "get_remaining_time_in_millis", None)
    return None if millis is None else lambda: millis() / 1000


def refused(error: Refused, event: dict) -> tuple[int, dict, dict]:
    # field paths and codes, never values
    logger.info(
        "rejected", request_id=http_request.request_id(event), status=error.status, errors=error.codes()
    )
    metrics.record_refused(recorder, error)
    return error.status, error.body(), {}


def unavailable(error: Exception, code: str, message: str, event: dict) -> tuple[int, dict, dict]:
    # the message or traceback could hold request data: only the exception's type is logged
    logger.error(code, request_id=http_request.request_id(event), error_class=type(error).__name__)
    body = {"errors": [{"index": None, "field": "request", "code": code, "message": message}]}
    return 503, body, RETRY_LATER


@recorder.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    graph = http_request.is_graph_route(event.get("rawPath")) and http_request.is_post(event)
    if not (graph or http_request.is_post_events(event)):  # a function URL sends every method and path
        return {"statusCode": 404, "headers": {"Content-Type": "application/json"}, "body": NOT_FOUND}
    try:
        status, body, headers = post_events(event, context, graph)
    except Refused as error:  # 400, 401, 403, 413: the caller's fault, said in JSON
        status, body, headers = refused(error, event)
    except SecretUnavailable as error:  # no auth policy ever read: callers cannot be checked
        metrics.record_secret_error(recorder)
        message = f"the relay's secret {error.secret_name} cannot be read; retry later"
        status, body, headers = unavailable(error, "secret_unavailable", message, event)
    except (QueueUnavailable, MetaError) as error:
        status, body, headers = unavailable(
            error, "unavailable", "neither Meta nor the queue took the events", event
        )
    except Exception as error:  # a bug must still answer JSON, never a stack trace
        status, body, headers = unavailable(
            error, "internal_error", "unexpected error; send the events again", event
        )
    if graph:  # Meta's answer shape, so the SDKs raise their usual errors
        from capi_relay import graph_shape

        status, body = graph_shape.answer(status, body, (event.get("requestContext") or {}).get("requestId"))
    headers = {"Content-Type": "application/json", **headers}
    return {"statusCode": status, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}
