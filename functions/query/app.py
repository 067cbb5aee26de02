"""GET /api/claude-events (history), GET /api/health, GET /api/openapi.json."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_events.dependencies import history_service
from claude_events.history import parse_request
from claude_events.http_api import build_resolver, json_response, query_parameters, require_scope
from claude_events.observability import MetricUnit, logger, metrics, tracer

app = build_resolver()


@app.get("/api/claude-events")
def list_events() -> Response[str]:
    require_scope(app, "read")
    page = history_service().page(parse_request(query_parameters(app)))
    metrics.add_metric(name="EventsRead", unit=MetricUnit.Count, value=len(page.event_texts))
    return json_response(200, page.body())


@app.get("/api/health")
def health() -> Response[str]:
    return json_response(200, {"status": "ok"})


@app.get("/api/openapi.json")
def openapi_document() -> Response[str]:
    require_scope(app, "read")
    # Imported on first use: building the document is not a cold-start cost of history reads.
    from claude_events.openapi import openapi_json  # noqa: PLC0415

    return json_response(200, openapi_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
