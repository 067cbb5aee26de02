"""Lambda authorizer of both APIs: a bearer token (HTTP) or `token` query parameter (WebSocket).

No valid token: 401. A valid token without the route's scope: 403. Tokens are never logged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from claude_events.authorization import Unauthorized, http_answer, is_websocket, route_and_token, websocket_answer
from claude_events.dependencies import authorizer
from claude_events.observability import MetricUnit, logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    route, token = route_and_token(event)
    try:
        decision = authorizer().decide(route, token)
    except Unauthorized:
        logger.info("token refused", extra={"route": route, "presented": token is not None})
        metrics.add_metric(name="AuthUnauthorized", unit=MetricUnit.Count, value=1)
        raise
    logger.info(
        "token checked", extra={"route": route, "token_name": decision.principal.name, "allowed": decision.allowed}
    )
    metrics.add_metric(name="AuthAllowed" if decision.allowed else "AuthForbidden", unit=MetricUnit.Count, value=1)
    if is_websocket(event):
        return websocket_answer(decision, event["methodArn"])
    return http_answer(decision)
