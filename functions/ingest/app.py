"""POST /api/claude-events: store one event or a batch, answer with what was stored."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_events.dependencies import ingest_service
from claude_events.http_api import build_resolver, json_response, received, request_body, require_scope
from claude_events.ingest import IngestResult
from claude_events.observability import MetricUnit, logger, metrics, tracer

RETRY_AFTER_SECONDS = "2"

app = build_resolver()


@app.post("/api/claude-events")
def ingest_events() -> Response[str]:
    require_scope(app, "ingest")
    result = ingest_service().ingest(request_body(app), received(app))
    _record(result)
    if result.complete:
        return json_response(201, result.body())
    return json_response(503, result.body(), headers={"Retry-After": RETRY_AFTER_SECONDS})


def _record(result: IngestResult) -> None:
    metrics.add_metric(name="EventsIngested", unit=MetricUnit.Count, value=len(result.stored))
    truncated = sum(1 for event in result.events if event.truncated)
    if truncated:
        metrics.add_metric(name="EventsTruncated", unit=MetricUnit.Count, value=truncated)
    if result.throttled_attempts:
        metrics.add_metric(name="WritesThrottled", unit=MetricUnit.Count, value=result.throttled_attempts)
    if result.failed:
        metrics.add_metric(name="EventsNotStored", unit=MetricUnit.Count, value=len(result.failed))
        logger.warning("events not stored", extra={"failed": len(result.failed), "stored": len(result.stored)})
    # DEBUG: at INFO this one line is a fifth of a warm request's cost; the metric counts the same.
    logger.debug("events ingested", extra={"count": len(result.stored), "batch": result.batch})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
