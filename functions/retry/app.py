"""SQS retry queue → Meta: one message per record, partial batch failures, backoff by visibility."""

import json
import time

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from capi_relay.delivery import dead_letter_message
from capi_relay.errors import MetaError, TokenMetaError, TransientMetaError
from capi_relay.redeliver import redeliver
from relay_aws import emf, graph_client, log_privacy, metrics, retry_queue, settings, token

logger = log_privacy.logger()  # service and level from the template; user-data keys masked
recorder = emf.Metrics(namespace=settings.load().metrics_namespace, service=settings.load().service)
# every record failing (Meta down) is still a partial response: no invocation error, no traceback
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
meta_down: list[MetaError] = []  # Meta unreachable during this batch: fail the rest at once


def record_handler(record: SQSRecord) -> None:
    now = time.time()
    try:
        message = json.loads(record.body)
        if meta_down:
            raise meta_down[0]  # do not wait out one more timeout per record while Meta is down
        result = redeliver(
            message, client=graph_client.get(), credentials=token.source(), sink=retry_queue.sink(), now=now
        )
    except (TransientMetaError, TokenMetaError) as error:
        if error.status is None:  # a timeout or no connection: the slow failures worth skipping
            meta_down[:] = [error]
        metrics.record_meta_errors(recorder, [error])
        attempt = retry_queue.attempt(record.attributes.approximate_receive_count, message)
        if attempt < settings.load().retry_max_attempts:
            retry_queue.delay(
                record.receipt_handle,
                retry_queue.backoff_seconds(attempt, settings.load().retry_base_delay_s),
            )
            logger.warning("retry later", attempt=attempt, count=len(message["data"]), **error.summary())
            raise  # fails this record only: SQS shows it again after the delay
        retry_queue.sink().dead_letter(
            dead_letter_message(message, message["data"], "max_attempts", now, error)
        )
        metrics.record_redelivery(recorder, dead_lettered=len(message["data"]))
        logger.error("dead-lettered", reason="max_attempts", attempt=attempt, **error.summary())
        return
    except ValueError:  # not JSON, or not a retry message: retrying cannot help, keep it visible
        retry_queue.sink().dead_letter(retry_queue.malformed(record.body, now))
        logger.error("dead-lettered", reason="malformed")
        return
    metrics.record_redelivery(
        recorder, sent=result.sent, dead_lettered=result.dead_lettered, requeued=result.requeued
    )
    logger.info(
        "redelivered", pixel_id=message["pixel_id"], sent=result.sent, dead_lettered=result.dead_lettered
    )


@logger.inject_lambda_context(log_event=False)
@recorder.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    meta_down.clear()
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
