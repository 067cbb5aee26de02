"""Events shaped as API Gateway sends them to Lambda."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl


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
            "accountId": "123456789012",
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
