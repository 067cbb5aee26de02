"""What every HTTP function shares: the resolver, JSON error answers, request context."""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from claude_events import timestamps
from claude_events.errors import RequestError
from claude_events.observability import MetricUnit, logger, metrics
from claude_events.received import Received


def json_response(status: int, body: str | dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=text, headers=headers)


def build_resolver() -> APIGatewayHttpResolver:
    """A resolver whose every failure is a JSON answer: 4xx naming the problem, never a raw 5xx."""
    app = APIGatewayHttpResolver()

    @app.exception_handler(RequestError)  # type: ignore[untyped-decorator]
    def client_error(error: RequestError) -> Response[str]:
        logger.info("request refused", extra={"status": error.status, "error": error.code})
        metrics.add_metric(name="RequestsRejected", unit=MetricUnit.Count, value=1)
        return json_response(error.status, error.body())

    @app.not_found
    def not_found(_: NotFoundError) -> Response[str]:
        path = app.current_event.raw_path
        method = app.current_event.request_context.http.method
        return json_response(404, {"error": "not_found", "message": f"no route for {method} {path}"})

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected(error: Exception) -> Response[str]:
        # Only the exception's type: its message may quote a payload.
        logger.error("unhandled error", extra={"error_type": type(error).__name__})
        return json_response(500, {"error": "internal_error", "message": "the server failed; retry later"})

    return app


def request_body(app: APIGatewayHttpResolver) -> bytes:
    event = app.current_event
    raw = event.get("body") or ""
    if event.is_base64_encoded:
        return base64.b64decode(raw)
    return raw.encode() if isinstance(raw, str) else bytes(raw)


def _authorizer_context(app: APIGatewayHttpResolver) -> dict[str, Any]:
    authorizer = (app.current_event.get("requestContext") or {}).get("authorizer") or {}
    context = authorizer.get("lambda") or {}
    return context if isinstance(context, dict) else {}


def require_scope(app: APIGatewayHttpResolver, scope: str) -> None:
    """403 unless the authorizer granted `scope`.

    The authorizer already refuses such requests; this second check means a misconfigured route
    (say, one added without the authorizer) fails closed instead of open.
    """
    scopes = str(_authorizer_context(app).get("scopes", "")).split()
    if scope not in scopes:
        raise RequestError(message=f"this route needs a token with the {scope} scope", status=403, code="forbidden")


def received(app: APIGatewayHttpResolver) -> Received:
    event = app.current_event
    context = event.request_context
    token_name = _authorizer_context(app).get("tokenName")
    return Received(
        at=timestamps.now(),
        source_ip=context.http.source_ip,
        headers={name.lower(): value for name, value in (event.headers or {}).items()},
        token_name=token_name if isinstance(token_name, str) else None,
    )


def query_parameters(app: APIGatewayHttpResolver) -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})
