"""POST /events: turn an HTTP API request into Meta events; send them now or queue them.

API Gateway routes only POST /events here, so there is no router: Powertools' event handler would
add ~70 ms of imports to every cold start for nothing.
"""

import json
import time

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.logging import correlation_paths

from capi_relay.errors import MetaError, QueueUnavailable, Refused
from capi_relay.relay import relay
from relay_aws import config, graph_client, http_request, log_privacy, metrics, retry_queue, settings, token

logger = log_privacy.logger()  # service and level from the template; user-data keys masked
recorder = Metrics(namespace=settings.load().metrics_namespace)  # dimension service=capi-relay (template)
RETRY_LATER = {"Retry-After": "5"}


def post_events(event: dict) -> tuple[int, dict, dict]:
    request = http_request.parse(event)  # body, cookies, IP, UA
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
        count=result.received,  # event ids are the caller's: never logged (the response carries them)
        warnings=result.warnings,
        meta_errors=result.meta_errors,
    )
    return result.status, result.body, {}


def refused(error: Refused) -> tuple[int, dict, dict]:
    logger.info("rejected", status=error.status, errors=error.codes())  # field paths and codes, never values
    metrics.record_refused(recorder, error)
    return error.status, error.body(), {}


def unavailable(error: Exception, code: str, message: str) -> tuple[int, dict, dict]:
    # the message or traceback could hold request data: only the exception's type is logged
    logger.error(code, error_class=type(error).__name__)
    body = {"errors": [{"index": None, "field": "request", "code": code, "message": message}]}
    return 503, body, RETRY_LATER


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@recorder.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    try:
        status, body, headers = post_events(event)
    except Refused as error:  # 400, 401, 403, 413: the caller's fault, said in JSON
        status, body, headers = refused(error)
    except (QueueUnavailable, MetaError) as error:
        status, body, headers = unavailable(
            error, "unavailable", "neither Meta nor the queue took the events"
        )
    except Exception as error:  # a bug must still answer JSON, never a stack trace
        status, body, headers = unavailable(
            error, "internal_error", "unexpected error; send the events again"
        )
    headers = {"Content-Type": "application/json", **headers}
    return {"statusCode": status, "headers": headers, "body": json.dumps(body), "isBase64Encoded": False}
