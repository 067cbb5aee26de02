"""Events table stream -> every WebSocket connection whose filter matches, concurrently."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_events.dependencies import broadcaster
from claude_events.observability import MetricUnit, logger, metrics, tracer
from claude_events.stream import StreamBatch


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = StreamBatch()
    # A batch whose every record is poison is reported record by record like any other, not raised:
    # raising would fail the invocation and make Lambda retry and bisect what is already known.
    processor = BatchProcessor(
        event_type=EventType.DynamoDBStreams,
        model=DynamoDBStreamRecordModel,
        raise_on_entire_batch_failure=False,
    )
    with processor(records=event.get("Records", []), handler=batch.collect, lambda_context=context):
        processor.process()
    failures: list[Any] = list(processor.response()["batchItemFailures"])
    try:
        report = broadcaster().broadcast(batch.events)
    except Exception as error:
        # Connections could not be read or posted at all: retry these records (clients de-duplicate).
        logger.exception("fan-out failed", extra={"error_type": type(error).__name__})
        failures.extend(batch.failure_items())
    else:
        metrics.add_metric(name="MessagesSent", unit=MetricUnit.Count, value=report.messages_sent)
        metrics.add_metric(name="ConnectionsPruned", unit=MetricUnit.Count, value=len(report.pruned))
        metrics.add_metric(name="FanoutMilliseconds", unit=MetricUnit.Milliseconds, value=report.seconds * 1000)
        if report.throttled:
            metrics.add_metric(name="PostsThrottled", unit=MetricUnit.Count, value=report.throttled)
        if report.failed:
            metrics.add_metric(name="PostsFailed", unit=MetricUnit.Count, value=len(report.failed))
        if report.all_failed:
            failures.extend(batch.failure_items())
        logger.info(
            "broadcast",
            extra={
                "events": len(batch.events),
                "connections": report.connections,
                "messages": report.messages_sent,
                "pruned": len(report.pruned),
                "failed": len(report.failed),
            },
        )
    return {"batchItemFailures": failures}
