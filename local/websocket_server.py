"""The WebSocket API on loopback, with its @connections management endpoint, as API Gateway runs them.

Clients connect to `ws://<host>:<port>/<stage>` (or `/`). On `$connect`:

1. the route's REQUEST authorizer, if any: a missing identity source is a 401 before anything is
   called; the function gets the WebSocket REQUEST event (`methodArn`); an IAM policy that allows
   the route connects, with `context` (flattened, plus `principalId`) in every later event's
   `requestContext.authorizer`; Deny is a 403, "Unauthorized" a 401, anything else a 500;
2. the `$connect` integration: a non-2xx `statusCode` refuses the connection with that status;
3. only then the upgrade. The connection is registered as soon as the upgrade is sent, and not
   before: until then `POST @connections/{id}` answers 410, as API Gateway does while `$connect`
   runs (ws_connect's replay retries that).

Messages pick their route with the API's RouteSelectionExpression (`$request.body.action`), falling
back to `$default`; a route's integration answer goes back to the client only if the route has a
RouteResponse. A client's close (or a DELETE on @connections) invokes `$disconnect`.

`/<stage>/@connections/{id}` (also `/@connections/{id}`): POST sends the body as one text frame
(binary if it is not UTF-8), GET describes the connection, DELETE closes it; a connection that is
not open answers 410 GoneException, a body over 128 KB 413 PayloadTooLargeException, in the JSON
error shape botocore turns into `client.exceptions.<Code>`. Only loopback peers may call it (no
SigV4 check).

Not emulated: the 10-minute idle and 2-hour connection limits, the 32 KB frame limit (messages
are limited to 128 KB), throttling, and `$disconnect` when the stack itself stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from local import apigw
from local.authorizers import (
    AuthorizerAnswerError,
    AuthOutcome,
    classify_failure,
    is_unauthorized,
    websocket_answer_outcome,
)
from local.endpoints import base_url, bound_port, is_loopback
from local.lambda_runtime import LambdaRuntime
from local.websocket_api import CONNECT, DISCONNECT, WebSocketApi, WsAuthorizer, WsRoute

MAX_MESSAGE_BYTES = 128 * 1024
SEND_TIMEOUT_SECONDS = 5.0
CLOSE_TIMEOUT_SECONDS = 2.0
_MANAGEMENT = "@connections"
_REASONS = {401: "Unauthorized", 403: "Forbidden", 500: "Internal Server Error"}

_log = logging.getLogger("local.ws")


@dataclass
class LiveConnection:
    connection_id: str
    ws: web.WebSocketResponse
    connected_at: float
    source_ip: str
    user_agent: str | None
    domain_name: str
    authorizer: dict[str, Any] | None = None
    last_active: float = field(default_factory=time.time)
    closing: bool = False

    @property
    def open(self) -> bool:
        return not self.closing and not self.ws.closed


class WebSocketServer:
    def __init__(self, api: WebSocketApi, runtime: LambdaRuntime, sock: socket.socket) -> None:
        self.api = api
        self._runtime = runtime
        self._sock = sock
        self._runner: web.AppRunner | None = None
        self._connections: dict[str, LiveConnection] = {}
        self._stopping = False

    # Addresses ------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._sock.getsockname()[0])

    @property
    def port(self) -> int:
        return bound_port(self._sock)

    @property
    def http_base(self) -> str:
        return base_url("http", self.host, self.port)

    @property
    def url(self) -> str:
        """Where clients connect (ws://…/<stage>)."""
        return base_url("ws", self.host, self.port) + self._stage_path

    @property
    def management_url(self) -> str:
        """The @connections endpoint URL a boto3 apigatewaymanagementapi client takes as endpoint_url."""
        return self.http_base + self._stage_path

    @property
    def _stage_path(self) -> str:
        return "" if self.api.stage == "$default" else f"/{self.api.stage}"

    # Lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        # Room for a too-large @connections body to be read and refused with API Gateway's 413.
        app = web.Application(client_max_size=8 * MAX_MESSAGE_BYTES)
        app.router.add_route("*", "/{path:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()

    async def stop(self) -> None:
        """Close every connection (1001 Going Away, without $disconnect), then the server."""
        self._stopping = True
        connections = list(self._connections.values())
        for connection in connections:
            connection.closing = True
        await asyncio.gather(
            *(self._close(connection, 1001, b"Server shutting down") for connection in connections),
            return_exceptions=True,
        )
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _close(self, connection: LiveConnection, code: int, message: bytes) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.ws.close(code=code, message=message), CLOSE_TIMEOUT_SECONDS)

    # Dispatch -------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        segments = [segment for segment in request.path.split("/") if segment]
        if segments and segments[0] == self.api.stage:
            segments = segments[1:]
        if len(segments) == 2 and segments[0] == _MANAGEMENT:
            return await self._manage(request, segments[1])
        if not segments:
            return await self._connect(request)
        return error(404, "Not Found")

    # $connect, messages, $disconnect --------------------------------------------------------

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, compress=False, timeout=CLOSE_TIMEOUT_SECONDS)
        if not ws.can_prepare(request).ok:
            return error(426, "Upgrade Required")
        if self._stopping:
            return error(503, "Service Unavailable")
        started = time.monotonic()
        connection_id = apigw.connection_id()
        headers = list(request.headers.items())
        query = list(request.rel_url.query.items())
        connected_at = time.time()
        route = self.api.routes.get(CONNECT)
        identity = (request.remote or "127.0.0.1", request.headers.get("User-Agent"))

        def context(route_key: str, authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
            return apigw.websocket_request_context(
                route_key=route_key,
                event_type="CONNECT",
                connection_id=connection_id,
                request_id=apigw.gateway_request_id(),
                domain_name=request.host,
                stage=self.api.stage,
                api_id=self.api.api_id,
                connected_at_ms=int(connected_at * 1000),
                source_ip=identity[0],
                user_agent=identity[1],
                authorizer=authorizer,
            )

        authorizer_context: dict[str, Any] | None = None
        if route is not None and route.authorizer is not None:
            outcome = await self._authorize(route.authorizer, context(CONNECT), headers, query)
            if not outcome.allowed:
                _log.info(
                    "$connect %s refused by %s (%s): %d %s",
                    connection_id,
                    route.authorizer.function,
                    route.authorizer.name,
                    outcome.status,
                    outcome.detail,
                )
                return error(outcome.status, _REASONS.get(outcome.status, "Forbidden"))
            authorizer_context = outcome.context
        protocol: str | None = None
        if route is not None and route.function is not None:
            event = apigw.websocket_connect_event(context(CONNECT, authorizer_context), headers, query)
            invocation = await self._runtime.invoke(route.function, event)
            status, body, protocol = _connect_answer(route.function, invocation.result, invocation.failed)
            _log.info(
                "$connect %s %s %d %.1f ms", connection_id, route.function, status, (time.monotonic() - started) * 1000
            )
            if not 200 <= status < 300:
                return web.Response(status=status, body=body, content_type="application/json")
        if protocol:
            ws = web.WebSocketResponse(
                max_msg_size=MAX_MESSAGE_BYTES, compress=False, timeout=CLOSE_TIMEOUT_SECONDS, protocols=(protocol,)
            )
        connection = LiveConnection(
            connection_id, ws, connected_at, identity[0], identity[1], request.host, authorizer_context
        )
        try:
            # Registered only once the upgrade is sent: until then a post answers 410.
            await ws.prepare(request)
            self._connections[connection_id] = connection
            await self._receive(connection)
        except (ConnectionError, RuntimeError) as problem:
            _log.info("%s: the client went away during the upgrade (%s)", connection_id, type(problem).__name__)
        finally:
            connection.closing = True
            self._connections.pop(connection_id, None)
            if not self._stopping:
                await self._disconnected(connection, context)
        return ws

    async def _receive(self, connection: LiveConnection) -> None:
        async for message in connection.ws:
            if message.type == WSMsgType.TEXT:
                await self._message(connection, message.data)
            elif message.type == WSMsgType.BINARY:
                await self._message(connection, bytes(message.data))
            elif message.type == WSMsgType.ERROR:
                _log.info("%s: %s", connection.connection_id, connection.ws.exception())
                break
            if self._stopping:
                break

    async def _message(self, connection: LiveConnection, data: str | bytes) -> None:
        started = time.monotonic()
        connection.last_active = time.time()
        request_id = apigw.gateway_request_id()
        route = self.api.select(data)
        if route is None or route.function is None:
            await self._send_error(connection, "Forbidden", request_id)
            return
        context = self._message_context(connection, route, request_id)
        invocation = await self._runtime.invoke(route.function, apigw.websocket_message_event(context, data))
        status = 500 if invocation.failed else 200
        _log.info(
            "%s %s %s %d %.1f ms",
            route.key,
            connection.connection_id,
            route.function,
            status,
            (time.monotonic() - started) * 1000,
        )
        if invocation.failed:
            await self._send_error(connection, "Internal server error", request_id)
        elif route.two_way and invocation.result is not None:
            await self._send(connection, _answer_body(invocation.result))

    def _message_context(self, connection: LiveConnection, route: WsRoute, request_id: str) -> dict[str, Any]:
        return apigw.websocket_request_context(
            route_key=route.key,
            event_type="MESSAGE",
            connection_id=connection.connection_id,
            request_id=request_id,
            domain_name=connection.domain_name,
            stage=self.api.stage,
            api_id=self.api.api_id,
            connected_at_ms=int(connection.connected_at * 1000),
            source_ip=connection.source_ip,
            user_agent=connection.user_agent,
            authorizer=connection.authorizer,
            message_id=apigw.gateway_request_id(),
        )

    async def _disconnected(self, connection: LiveConnection, context: Any) -> None:
        route = self.api.routes.get(DISCONNECT)
        if route is None or route.function is None:
            return
        started = time.monotonic()
        code = connection.ws.close_code or 1006
        reason = "Client-side close frame status not set" if code in (1005, 1006) else f"close code {code}"
        request_context = {
            **context(DISCONNECT, connection.authorizer),
            "eventType": "DISCONNECT",
        }
        event = apigw.websocket_disconnect_event(request_context, connection.domain_name, code, reason)
        invocation = await self._runtime.invoke(route.function, event)
        _log.info(
            "$disconnect %s %s %d %.1f ms",
            connection.connection_id,
            route.function,
            500 if invocation.failed else 200,
            (time.monotonic() - started) * 1000,
        )

    async def _authorize(
        self,
        authorizer: WsAuthorizer,
        request_context: dict[str, Any],
        headers: list[tuple[str, str]],
        query: list[tuple[str, str]],
    ) -> AuthOutcome:
        for source in authorizer.identity_sources:
            if not _identity_value(source, headers, query, request_context):
                return AuthOutcome(401, detail=f"identity source {source} is missing")
        method_arn = self.api.method_arn(CONNECT)
        event = apigw.websocket_authorizer_event(method_arn, request_context, headers, query)
        started = time.monotonic()
        invocation = await self._runtime.invoke(authorizer.function, event, expected=is_unauthorized)
        if invocation.failed:
            return classify_failure(invocation)
        try:
            latency = int((time.monotonic() - started) * 1000)
            return websocket_answer_outcome(invocation.result, method_arn, latency)
        except AuthorizerAnswerError as problem:
            _log.error("%s answered what API Gateway cannot use: %s", authorizer.function, problem)
            return AuthOutcome(500, detail=str(problem))

    async def _send_error(self, connection: LiveConnection, message: str, request_id: str) -> None:
        body = {"message": message, "connectionId": connection.connection_id, "requestId": request_id}
        await self._send(connection, json.dumps(body).encode())

    async def _send(self, connection: LiveConnection, data: bytes) -> bool:
        if not connection.open:
            return False
        try:
            text = data.decode()
        except UnicodeDecodeError:
            sending = connection.ws.send_bytes(data)
        else:
            sending = connection.ws.send_str(text)
        try:
            await asyncio.wait_for(sending, SEND_TIMEOUT_SECONDS)
        except (ConnectionError, RuntimeError, TimeoutError) as problem:
            _log.info("%s: send failed (%s)", connection.connection_id, type(problem).__name__)
            connection.closing = True
            return False
        connection.last_active = time.time()
        return True

    # @connections ---------------------------------------------------------------------------

    async def _manage(self, request: web.Request, connection_id: str) -> web.StreamResponse:
        if not is_loopback(request.remote):
            return management_error(403, "ForbiddenException", "Forbidden")
        connection = self._connections.get(connection_id)
        if request.method == "POST":
            return await self._post_to_connection(request, connection)
        if connection is None or not connection.open:
            return management_error(410, "GoneException", None)
        if request.method == "GET":
            return web.json_response(
                {
                    "connectedAt": _iso(connection.connected_at),
                    "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent or ""},
                    "lastActiveAt": _iso(connection.last_active),
                }
            )
        if request.method == "DELETE":
            connection.closing = True
            await self._close(connection, 1000, b"")
            return web.Response(status=204)
        return management_error(404, "NotFoundException", f"no {request.method} on @connections")

    async def _post_to_connection(self, request: web.Request, connection: LiveConnection | None) -> web.Response:
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return management_error(413, "PayloadTooLargeException", "Message too long")
        if connection is None or not connection.open:
            return management_error(410, "GoneException", None)
        if len(data) > MAX_MESSAGE_BYTES:
            return management_error(413, "PayloadTooLargeException", "Message too long")
        if not await self._send(connection, data):
            return management_error(410, "GoneException", None)
        return web.Response(status=200)


def error(status: int, message: str) -> web.Response:
    """An answer API Gateway gives itself, in its shape."""
    return web.json_response({"message": message}, status=status)


def management_error(status: int, code: str, message: str | None) -> web.Response:
    """An @connections error: botocore reads the code from the header (and __type), raising Client.exceptions.<code>."""
    body = json.dumps({"__type": code, "message": message})
    return web.Response(status=status, text=body, content_type="application/json", headers={"x-amzn-ErrorType": code})


def _identity_value(
    source: str, headers: list[tuple[str, str]], query: list[tuple[str, str]], request_context: dict[str, Any]
) -> str | None:
    if source.startswith("route.request.header."):
        name = source.removeprefix("route.request.header.").lower()
        values = [value for key, value in headers if key.lower() == name]
    elif source.startswith("route.request.querystring."):
        name = source.removeprefix("route.request.querystring.")
        values = [value for key, value in query if key == name]
    elif source.startswith("context."):
        value: Any = request_context
        for part in source.removeprefix("context.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        values = [str(value)] if value not in (None, "") else []
    else:
        values = []
    return values[-1] if values and values[-1] else None


def _connect_answer(function: str, result: Any, failed: bool) -> tuple[int, bytes, str | None]:
    """(status, body, subprotocol) API Gateway makes of the $connect integration's answer."""
    if failed:
        return 500, json.dumps({"message": "Internal Server Error"}).encode(), None
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, b"", None
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, (int, str)) or not str(status).isdigit():
        _log.error("%s answered $connect with statusCode %r", function, status)
        return 500, json.dumps({"message": "Internal Server Error"}).encode(), None
    headers = {str(name).lower(): str(value) for name, value in (result.get("headers") or {}).items()}
    body = result.get("body")
    return int(status), (body if isinstance(body, str) else "").encode(), headers.get("sec-websocket-protocol")


def _answer_body(result: Any) -> bytes:
    if isinstance(result, dict) and "body" in result:
        body = result["body"]
        return body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return json.dumps(result).encode()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
