"""SQS retry queue → Meta: one message per record, partial batch failures, backoff by visibility.

The retry policy (attempts, backoff, the DLQ, stopping a batch while Meta throttles) is the domain's
(capi_relay.redeliver.RetryBatch); this handler only carries out what it decides.
"""

import functools
import time

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from capi_relay.redeliver import RetryBatch, RetryPolicy
from relay_aws import emf, graph_client, log_privacy, metrics, retry_queue, settings, token

logger = log_privacy.logger()  # service and level from the template; user-data keys masked
recorder = emf.Metrics(namespace=settings.load().metrics_namespace, service=settings.load().service)
# every record failing (Meta down) is still a partial response: no invocation error, no traceback
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class RetryLater(Exception):
    """Fails the record: SQS shows it again once the backoff (its visibility timeout) has passed."""


def record_handler(record: SQSRecord, batch: RetryBatch) -> None:
    outcome = batch.handle(record.body, record.attributes.approximate_receive_count)
    metrics.record_meta_errors(recorder, outcome.errors)
    metrics.record_redelivery(
        recorder,
        sent=outcome.result.sent,
        dead_lettered=outcome.result.dead_lettered,
        requeued=outcome.result.requeued,
    )
    getattr(logger, outcome.level)(outcome.log, **outcome.fields)
    if outcome.retry_in_s is not None:
        retry_queue.delay(record.receipt_handle, outcome.retry_in_s)
        raise RetryLater(outcome.log)


@logger.inject_lambda_context(log_event=False)
@recorder.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    loaded = settings.load()
    batch = RetryBatch(
        client=graph_client.get(),
        credentials=token.source(),
        sink=retry_queue.sink(),
        policy=RetryPolicy(loaded.retry_max_attempts, loaded.retry_base_delay_s),
        clock=time.time,
        remaining=lambda: context.get_remaining_time_in_millis() / 1000,
        credentials_read_s=token.WORST_READ_S,
        queue_write_s=retry_queue.WORST_WRITE_S,
    )
    return process_partial_response(
        event=event,
        record_handler=functools.partial(record_handler, batch=batch),
        processor=processor,
        context=context,
    )
