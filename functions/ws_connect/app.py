"""WebSocket routes ($connect, $disconnect, history, subscribe, $default) and the history replay.

$connect cannot post to its own connection (it exists only once $connect returns), so it stores
the connection and invokes this function again asynchronously; that invocation posts the history.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_events.dependencies import websocket_service
from claude_events.errors import RequestError
from claude_events.observability import MetricUnit, logger, metrics, tracer
from claude_events.websocket import REPLAY_KEY, Replay

OK = {"statusCode": 200}


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if REPLAY_KEY in event:
        outcome = websocket_service().replay(Replay.from_payload(event))
        metrics.add_metric(name=f"Replay_{outcome.value}", unit=MetricUnit.Count, value=1)
        return {"outcome": outcome.value}

    request = event["requestContext"]
    route, connection_id = request["routeKey"], request["connectionId"]
    logger.append_keys(route=route, connection_id=connection_id)
    if route == "$connect":
        return _connect(connection_id, event, context.invoked_function_arn)
    if route == "$disconnect":
        websocket_service().disconnect(connection_id)
        metrics.add_metric(name="Disconnections", unit=MetricUnit.Count, value=1)
        return OK
    outcome = websocket_service().on_message(connection_id, event.get("body"))
    logger.info("message handled", extra={"outcome": outcome.value})
    return OK


def _connect(connection_id: str, event: dict[str, Any], own_arn: str) -> dict[str, Any]:
    authorizer = event["requestContext"].get("authorizer") or {}
    principal = authorizer.get("tokenName") or authorizer.get("principalId")
    try:
        websocket_service().connect(connection_id, event.get("queryStringParameters") or {}, principal, own_arn)
    except RequestError as error:
        logger.info("connection refused", extra={"status": error.status, "error": error.code})
        metrics.add_metric(name="ConnectionsRefused", unit=MetricUnit.Count, value=1)
        return {"statusCode": error.status, "body": json.dumps(error.body())}
    metrics.add_metric(name="Connections", unit=MetricUnit.Count, value=1)
    return OK
