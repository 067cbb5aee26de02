"""Events shaped as API Gateway sends them to Lambda."""

from __future__ import annotations

import base64
import secrets
import string
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from local.intrinsics import ACCOUNT_ID

if TYPE_CHECKING:
    from local.authorizers import HttpAuthRequest

_ID_ALPHABET = string.ascii_letters + string.digits


def http_api_event(
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    stage: str = "$default",
    route_key: str | None = None,
    source_ip: str = "127.0.0.1",
    authorizer: dict[str, Any] | None = None,
    path_parameters: dict[str, str] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event, as API Gateway hands it to a Lambda integration.

    As API Gateway does, header names are lowercased and a `cookie` header moves to `cookies`.
    """
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    cookie_header = lowered.pop("cookie", None)
    now = datetime.now(UTC)
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method} {path}",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": route_key or f"{method} {path}",
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookie_header:
        event["cookies"] = [cookie.strip() for cookie in cookie_header.split(";") if cookie.strip()]
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if query:
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            # API Gateway joins repeated parameters with commas.
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if body is not None:
        if isinstance(body, bytes):
            try:
                event["body"] = body.decode()
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = body
    return event


def http_authorizer_event(version: str, request: HttpAuthRequest, identity: list[str]) -> dict[str, Any]:
    """The REQUEST event an HTTP API Lambda authorizer gets (payload format 2.0 or 1.0)."""
    event = http_api_event(
        request.method,
        request.raw_path,
        headers=dict(request.headers),
        query=request.raw_query,
        stage=request.stage,
        route_key=request.route_key,
        source_ip=request.source_ip,
        path_parameters=dict(request.path_parameters),
        request_id=request.request_id,
    )
    event["requestContext"]["apiId"] = request.api_id
    event["requestContext"]["domainName"] = request.domain_name
    if version == "2.0":
        del event["isBase64Encoded"]
        return {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": request.route_arn,
            "identitySource": identity,
            **{key: value for key, value in event.items() if key != "version"},
        }
    # Payload 1.0: the REST API shape, with the identity sources joined by commas.
    headers = dict(request.headers)
    query = event.get("queryStringParameters")
    return {
        "version": "1.0",
        "type": "REQUEST",
        "methodArn": request.route_arn,
        "identitySource": ",".join(identity),
        "authorizationToken": headers.get("authorization", ""),
        "resource": request.route_key.partition(" ")[2] or request.route_key,
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {name: value.split(",") for name, value in query.items()} if query else None,
        "pathParameters": dict(request.path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": request.api_id,
            "domainName": request.domain_name,
            "httpMethod": request.method,
            "identity": {"sourceIp": request.source_ip, "userAgent": headers.get("user-agent", "")},
            "path": request.raw_path,
            "requestId": request.request_id,
            "resourcePath": request.route_key.partition(" ")[2] or request.route_key,
            "stage": request.stage,
        },
    }


# WebSocket API ------------------------------------------------------------------------------


def connection_id() -> str:
    """An id shaped like API Gateway's (16 characters, ending in =)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15)) + "="


def gateway_request_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15)) + "="


def websocket_request_context(
    *,
    route_key: str,
    event_type: str,
    connection_id: str,
    request_id: str,
    domain_name: str,
    stage: str,
    api_id: str,
    connected_at_ms: int,
    source_ip: str,
    user_agent: str | None,
    authorizer: Mapping[str, Any] | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """`requestContext` of a WebSocket API event, as API Gateway builds it."""
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at_ms,
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "identity": {"sourceIp": source_ip, "userAgent": user_agent},
        "requestId": request_id,
        "domainName": domain_name,
        "connectionId": connection_id,
        "apiId": api_id,
    }
    if message_id is not None:
        context["messageId"] = message_id
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return context


def websocket_connect_event(
    request_context: dict[str, Any], headers: list[tuple[str, str]], query: list[tuple[str, str]]
) -> dict[str, Any]:
    """The $connect event: headers and query string in the REST (1.0) shapes, last value winning."""
    event: dict[str, Any] = {**_multi("headers", "multiValueHeaders", headers)}
    if query:
        event.update(_multi("queryStringParameters", "multiValueQueryStringParameters", query))
    event["requestContext"] = request_context
    event["isBase64Encoded"] = False
    return event


def websocket_message_event(request_context: dict[str, Any], data: str | bytes) -> dict[str, Any]:
    """A message route's event: a text frame as `body`, a binary one base64-encoded."""
    if isinstance(data, bytes):
        return {"requestContext": request_context, "body": base64.b64encode(data).decode(), "isBase64Encoded": True}
    return {"requestContext": request_context, "body": data, "isBase64Encoded": False}


def websocket_disconnect_event(
    request_context: dict[str, Any], host: str, status_code: int, reason: str
) -> dict[str, Any]:
    """The $disconnect event (API Gateway sends only a few headers with it)."""
    request_context = {**request_context, "disconnectStatusCode": status_code, "disconnectReason": reason}
    headers = [("Host", host), ("x-api-key", ""), ("X-Forwarded-For", ""), ("x-restapi", "")]
    return {
        **_multi("headers", "multiValueHeaders", headers),
        "requestContext": request_context,
        "isBase64Encoded": False,
    }


def websocket_authorizer_event(
    method_arn: str,
    request_context: dict[str, Any],
    headers: list[tuple[str, str]],
    query: list[tuple[str, str]],
) -> dict[str, Any]:
    """The event a WebSocket REQUEST authorizer gets on $connect."""
    event: dict[str, Any] = {"type": "REQUEST", "methodArn": method_arn}
    event.update(_multi("headers", "multiValueHeaders", headers))
    event.update(_multi("queryStringParameters", "multiValueQueryStringParameters", query))
    event["stageVariables"] = {}
    event["requestContext"] = request_context
    return event


def _multi(single: str, multi: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    singles: dict[str, str] = {}
    multiples: dict[str, list[str]] = {}
    for name, value in pairs:
        singles[name] = value
        multiples.setdefault(name, []).append(value)
    return {single: singles, multi: multiples}
