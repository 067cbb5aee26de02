"""The HTTP API on loopback: each request becomes a payload-2.0 event for the route's function.

What API Gateway itself answers is reproduced: 404 `{"message":"Not Found"}` for a request no
route takes, 413 over the 10 MB payload limit, 500 `{"message":"Internal Server Error"}` when the
function fails or answers something that is not a proxy response, and 503 after the 30 s
integration timeout. A route with an authorizer runs it first (local.authorizers): 401
`{"message":"Unauthorized"}`, 403 `{"message":"Forbidden"}` or 500 stop the request there; an
allow passes the authorizer's context to the function as `requestContext.authorizer`.

`/_local/...` is the local stack's own admin endpoint (tokens), never a template route.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from local.apigw import http_api_event
from local.authorizers import HttpAuthorization, HttpAuthorizer, HttpAuthRequest
from local.endpoints import bound_port
from local.lambda_runtime import Invocation, LambdaRuntime
from local.resources import local_id
from local.routes import RouteMatch, RouteTable

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_SECONDS = 30.0
SHUTDOWN_GRACE_SECONDS = 5.0
# Set by the server, not copied from a function's answer.
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_REASONS = {401: "Unauthorized", 403: "Forbidden", 500: "Internal Server Error"}
ADMIN_PREFIX = "/_local/"
AdminHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_log = logging.getLogger("local.http")


class HttpApiServer:
    def __init__(
        self,
        routes: RouteTable,
        runtime: LambdaRuntime,
        sock: socket.socket,
        *,
        authorizers: Mapping[str, HttpAuthorizer | None] | None = None,
        admin: AdminHandler | None = None,
    ) -> None:
        self._routes = routes
        self._runtime = runtime
        self._sock = sock
        self._authorizers = dict(authorizers or {})
        self._authorization = HttpAuthorization(runtime)
        self._admin = admin
        self._runner: web.AppRunner | None = None

    @property
    def routes(self) -> RouteTable:
        return self._routes

    def authorizer(self, route_key: str) -> HttpAuthorizer | None:
        return self._authorizers.get(route_key)

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        return bound_port(self._sock)

    @property
    def host(self) -> str:
        return str(self._sock.getsockname()[0])

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_PAYLOAD_BYTES)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
        )
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._admin is not None and request.path.startswith(ADMIN_PREFIX):
            return await self._admin(request)
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        raw_path = request.rel_url.raw_path
        match = self._routes.match(request.method, raw_path)
        function = "-"
        note = ""
        if match is None:
            response = gateway_error(404, "Not Found")
        else:
            function = match.route.function
            headers = _event_headers(request)
            authorizer = self._authorizers.get(match.route.route_key)
            lambda_authorizer: dict[str, Any] | None = None
            refusal: web.Response | None = None
            if authorizer is not None:
                outcome = await self._authorization.authorize(
                    authorizer, _auth_request(request, match, headers, request_id)
                )
                note = f" [{authorizer.name}: {'cached ' if outcome.cached else ''}{outcome.status}]"
                if outcome.allowed:
                    lambda_authorizer = outcome.context
                else:
                    refusal = gateway_error(outcome.status, _REASONS.get(outcome.status, "Forbidden"))
                    function = authorizer.function
            if refusal is not None:
                response = refusal
            else:
                try:
                    body = await request.read()
                except web.HTTPRequestEntityTooLarge:
                    response = gateway_error(413, "Request Entity Too Large")
                else:
                    event = http_api_event(
                        request.method,
                        raw_path,
                        body=body or None,
                        headers=headers,
                        query=request.rel_url.raw_query_string,
                        route_key=match.route.route_key,
                        source_ip=request.remote or "127.0.0.1",
                        authorizer=lambda_authorizer,
                        path_parameters=match.path_parameters,
                        request_id=request_id,
                    )
                    response = await self._integrate(function, event)
        response.headers["apigw-requestid"] = request_id
        # The path only: a query string may carry what must not reach a log.
        _log.info(
            "%s %s %s %d %.1f ms%s",
            request.method,
            raw_path if len(raw_path) < 200 else raw_path[:200] + "…",
            function,
            response.status,
            (time.monotonic() - started) * 1000,
            note,
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


def _auth_request(request: web.Request, match: RouteMatch, headers: dict[str, str], request_id: str) -> HttpAuthRequest:
    return HttpAuthRequest(
        method=request.method,
        raw_path=request.rel_url.raw_path,
        raw_query=request.rel_url.raw_query_string,
        headers=headers,
        route_key=match.route.route_key,
        source_ip=request.remote or "127.0.0.1",
        request_id=request_id,
        api_id=local_id(match.route.api),
        domain_name=request.host,
        path_parameters=match.path_parameters,
    )


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
