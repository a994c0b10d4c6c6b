"""POST /events: turn an HTTP API request into Meta events; send them now or queue them."""

import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths

from capi_relay.errors import BadRequest, MetaError, QueueUnavailable
from capi_relay.relay import relay
from relay_aws import config, graph_client, http_request, metrics, retry_queue, token

logger = Logger()  # service name and level come from the template
recorder = Metrics()  # namespace CapiRelay, dimension service=capi-relay (template)
app = APIGatewayHttpResolver(debug=False)  # debug would print events and tracebacks


@app.post("/events")
def post_events() -> Response:
    request = http_request.parse(app.current_event)  # body, cookies, IP, UA
    result = relay(
        request,
        config=config.current(),
        client=graph_client.get(),
        credentials=token.source(),
        sink=retry_queue.sink(),
        now=time.time(),
    )
    metrics.record_relay(recorder, result)
    logger.info(
        "relayed",
        status=result.status,
        count=result.received,
        event_ids=result.event_ids,
        warnings=result.warnings,
        meta_errors=result.meta_errors,
    )
    return Response(result.status, content_types.APPLICATION_JSON, result.body)


@app.exception_handler(BadRequest)
def bad_request(error: BadRequest) -> Response:
    logger.info("rejected", status=error.status, errors=error.codes())  # field paths and codes, never values
    return Response(error.status, content_types.APPLICATION_JSON, error.body())


@app.exception_handler([QueueUnavailable, MetaError])
def unavailable(error: Exception) -> Response:
    logger.error("unavailable", error_class=type(error).__name__)  # neither Meta nor the queue took them
    return _retry_later("unavailable", "the relay cannot take events right now; send them again")


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    # a bug: the message or traceback could hold request data, so only the exception's type is logged
    logger.error("unexpected error", error_class=type(error).__name__)
    return _retry_later("internal_error", "the relay failed; the events were not taken, send them again")


def _retry_later(code: str, message: str) -> Response:
    body = {"errors": [{"index": None, "field": "request", "code": code, "message": message}]}
    return Response(503, content_types.APPLICATION_JSON, body, headers={"Retry-After": "5"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@recorder.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
