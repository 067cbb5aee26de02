"""Tokens tables and authorizer events for the security tests (API Gateway's shapes, 2.0 and WebSocket)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from claude_events import dependencies, settings
from local.template import create_table_arguments

TOKENS_TABLE = "claude-events-tokens-test"
REGION = "us-east-1"
ACCOUNT = "123456789012"
HTTP_API_ID = "httpapi123"
WEBSOCKET_API_ID = "wsapi45678"
STAGE = "v1"


def create_tokens_table(client: Any, table_name: str = TOKENS_TABLE) -> str:
    """The tokens table, as template.yaml declares it."""
    client.create_table(**create_table_arguments("TokensTable", table_name))
    return table_name


def use_tokens_table(monkeypatch: Any, table_name: str = TOKENS_TABLE) -> None:
    """Point the authorizer's settings at `table_name` and forget the services built before."""
    monkeypatch.setenv("TOKENS_TABLE_NAME", table_name)
    forget_services()


def forget_services() -> None:
    for cached in (
        settings.authorizer_settings,
        settings.websocket_settings,
        settings.ingest_settings,
        settings.query_settings,
    ):
        cached.cache_clear()
    dependencies.use_event_store(None)  # clears every service factory


def http_authorizer_event(
    route_key: str, headers: dict[str, str] | None = None, *, query: str = "", request_id: str | None = None
) -> dict[str, Any]:
    """An HTTP API Lambda authorizer event, payload format 2.0, identity Authorization + routeKey."""
    method, _, path = route_key.partition(" ")
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    identity = [value for value in (lowered.get("authorization"), route_key) if value is not None]
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{HTTP_API_ID}/{STAGE}/{method}{path}",
        "identitySource": identity,
        "routeKey": route_key,
        "rawPath": f"/{STAGE}{path}",
        "rawQueryString": query,
        "headers": {"host": f"{HTTP_API_ID}.execute-api.{REGION}.amazonaws.com", **lowered},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": HTTP_API_ID,
            "domainName": f"{HTTP_API_ID}.execute-api.{REGION}.amazonaws.com",
            "domainPrefix": HTTP_API_ID,
            "http": {
                "method": method,
                "path": f"/{STAGE}{path}",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0",
            },
            "requestId": request_id or uuid.uuid4().hex[:16],
            "routeKey": route_key,
            "stage": STAGE,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "pathParameters": {},
        "stageVariables": {},
    }


def websocket_method_arn(route_key: str = "$connect") -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{WEBSOCKET_API_ID}/{STAGE}/{route_key}"


def websocket_authorizer_event(
    query: dict[str, str] | None = None, *, route_key: str = "$connect", connection_id: str = "Yx1aBcDeFgHiJ="
) -> dict[str, Any]:
    """A WebSocket API REQUEST authorizer event for $connect (identity: the `token` query parameter)."""
    parameters = dict(query or {})
    return {
        "type": "REQUEST",
        "methodArn": websocket_method_arn(route_key),
        "headers": {
            "Host": f"{WEBSOCKET_API_ID}.execute-api.{REGION}.amazonaws.com",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "Origin": "https://dash.example.com",
        },
        "multiValueHeaders": {},
        "queryStringParameters": parameters or None,
        "multiValueQueryStringParameters": {name: [value] for name, value in parameters.items()} or None,
        "stageVariables": {},
        "requestContext": {
            "routeKey": route_key,
            "eventType": "CONNECT",
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "messageDirection": "IN",
            "stage": STAGE,
            "connectedAt": int(time.time() * 1000),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"},
            "requestId": uuid.uuid4().hex[:16],
            "domainName": f"{WEBSOCKET_API_ID}.execute-api.{REGION}.amazonaws.com",
            "connectionId": connection_id,
            "apiId": WEBSOCKET_API_ID,
        },
    }
