"""The HTTP API on loopback: each request becomes a payload-2.0 event for the route's function.

What API Gateway itself answers is reproduced: 404 `{"message":"Not Found"}` for a request no
route takes, 413 over the 10 MB payload limit, 500 `{"message":"Internal Server Error"}` when the
function fails or answers something that is not a proxy response, and 503 after the 30 s
integration timeout.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
import uuid
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from local.apigw import http_api_event
from local.lambda_runtime import Invocation, LambdaRuntime
from local.routes import RouteTable

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_SECONDS = 30.0
SHUTDOWN_GRACE_SECONDS = 5.0
# Set by the server, not copied from a function's answer.
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})

_log = logging.getLogger("local.http")


class HttpApiServer:
    def __init__(self, routes: RouteTable, runtime: LambdaRuntime, host: str, port: int) -> None:
        self._routes = routes
        self._runtime = runtime
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def routes(self) -> RouteTable:
        return self._routes

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        if self._runner is not None:
            for address in self._runner.addresses:
                if isinstance(address, tuple):
                    return int(address[1])
        return self._port

    @property
    def host(self) -> str:
        return self._host

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_PAYLOAD_BYTES)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        raw_path = request.rel_url.raw_path
        match = self._routes.match(request.method, raw_path)
        function = "-"
        if match is None:
            response = gateway_error(404, "Not Found")
        else:
            function = match.route.function
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                response = gateway_error(413, "Request Entity Too Large")
            else:
                event = http_api_event(
                    request.method,
                    raw_path,
                    body=body or None,
                    headers=_event_headers(request),
                    query=request.rel_url.raw_query_string,
                    route_key=match.route.route_key,
                    source_ip=request.remote or "127.0.0.1",
                    path_parameters=match.path_parameters,
                    request_id=request_id,
                )
                response = await self._integrate(function, event)
        response.headers["apigw-requestid"] = request_id
        _log.info(
            "%s %s %s %d %.1f ms",
            request.method,
            request.rel_url.raw_path_qs if len(request.rel_url.raw_path_qs) < 200 else raw_path,
            function,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        return response

    async def _integrate(self, function: str, event: dict[str, Any]) -> web.Response:
        # shield: the handler's thread cannot be stopped; at the timeout only the client stops waiting.
        invocation = asyncio.ensure_future(self._runtime.invoke(function, event))
        try:
            outcome: Invocation = await asyncio.wait_for(asyncio.shield(invocation), INTEGRATION_TIMEOUT_SECONDS)
        except TimeoutError:
            _log.error("%s did not answer within %.0f s", function, INTEGRATION_TIMEOUT_SECONDS)
            return gateway_error(503, "Service Unavailable")
        if outcome.failed:
            return gateway_error(500, "Internal Server Error")
        try:
            return proxy_response(outcome.result)
        except (TypeError, ValueError, binascii.Error) as error:
            _log.error("%s answered a malformed proxy response: %s", function, error)
            return gateway_error(500, "Internal Server Error")


def gateway_error(status: int, message: str) -> web.Response:
    """An answer API Gateway gives itself, in its shape."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return web.Response(status=status, body=body, content_type="application/json")


def proxy_response(result: Any) -> web.Response:
    """A Lambda result, read as API Gateway reads payload format 2.0 results."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # No statusCode: API Gateway takes the whole result as a JSON body of a 200.
        text = result if isinstance(result, str) else json.dumps(result)
        return web.Response(status=200, body=text.encode(), content_type="application/json")
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, (int, str)) or not 100 <= int(status) <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in _HOP_BY_HOP:
            headers[name] = _header_value(value)
    for cookie in result.get("cookies") or []:
        headers.add("Set-Cookie", str(cookie))
    body = result.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise TypeError(f"body is {type(body).__name__}, not a string")
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body, validate=True)
    else:
        data = body.encode()
    return web.Response(status=int(status), body=data, headers=headers)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _event_headers(request: web.Request) -> dict[str, str]:
    """Request headers as API Gateway passes them: repeated ones joined by commas, forwarding added."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    client = request.remote or "127.0.0.1"
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {client}" if forwarded else client
    headers["x-forwarded-proto"] = request.scheme
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        headers["x-forwarded-port"] = str(sockname[1])
    return headers
