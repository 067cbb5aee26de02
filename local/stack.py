"""The local stack: moto, the template's tables and functions, and the APIs that invoke them.

Everything comes from template.yaml; a route, table, authorizer, stream mapping or environment
variable added there is served here with no change to this package.

Startup order matters: the sockets are bound first, so that the template's API URLs (a
function's `WEBSOCKET_MANAGEMENT_URL`) resolve to the real local ports; then moto and the tables
(a stream ARN exists only once its table does); then the functions, with their environments
resolved; then the servers and the stream pollers start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

from local import environment, resources
from local.authorizers import HttpAuthorizer, http_route_authorizers
from local.aws import LocalAws, LocalTable, isolate_environment
from local.endpoints import LocalUrls, base_url, bind, bound_port
from local.environment import Environments
from local.event_sources import StreamMapping, stream_mappings
from local.functions import FunctionDirectory, FunctionSpec, function_specs
from local.http_server import HttpApiServer
from local.intrinsics import Resolver, UnresolvableError
from local.lambda_endpoint import LambdaEndpoint
from local.lambda_runtime import LambdaRuntime
from local.resources import HTTP_API, IMPLICIT_HTTP_API, SERVERLESS_FUNCTION, local_id
from local.routes import http_routes
from local.stream_poller import StreamPoller
from local.template import TEMPLATE, load
from local.tokens import LocalTokens, tokens_table
from local.websocket_api import WebSocketApi, websocket_apis
from local.websocket_server import WebSocketServer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 3000
DEFAULT_WS_PORT = 3001
LAMBDA_ENDPOINT_ENV = "AWS_ENDPOINT_URL_LAMBDA"

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StackConfig:
    host: str = DEFAULT_HOST
    http_port: int = DEFAULT_HTTP_PORT
    ws_port: int = DEFAULT_WS_PORT
    parameters: dict[str, str] = field(default_factory=dict)
    template_path: Path = TEMPLATE
    # CLAUDE_EVENTS_TOKEN: stored as the ready token; None mints one.
    token: str | None = field(default=None, repr=False)


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.tables: list[LocalTable] = []
        self.functions: dict[str, FunctionSpec] = {}
        self.mappings: list[StreamMapping] = []
        self.ready_token: str | None = None
        self.token_origin = ""
        self.tokens: LocalTokens | None = None
        self._aws = LocalAws()
        self._sockets: list[socket.socket] = []
        self._runtime: LambdaRuntime | None = None
        self._http: HttpApiServer | None = None
        self._websocket: WebSocketServer | None = None
        self._lambda: LambdaEndpoint | None = None
        self._pollers: list[StreamPoller] = []

    @property
    def http(self) -> HttpApiServer:
        if self._http is None:
            raise RuntimeError("the stack is not started")
        return self._http

    @property
    def websocket(self) -> WebSocketServer | None:
        return self._websocket

    @property
    def lambda_endpoint(self) -> LambdaEndpoint | None:
        return self._lambda

    async def start(self) -> None:
        """Bring everything up; on any failure, take down what was started and re-raise."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        config = self.config
        template = load(config.template_path)
        resolver = Resolver.for_template(template, config.parameters)
        resources.register(resolver)
        directory = FunctionDirectory.of(resolver)
        routes = http_routes(template)
        route_authorizers = http_route_authorizers(resolver, routes, directory)
        apis = websocket_apis(resolver, directory)
        if len(apis) > 1:
            names = ", ".join(api.logical_id for api in apis)
            raise UnresolvableError(f"the local stack serves one WebSocket API; the template has {names}")
        api = apis[0] if apis else None

        http_sock = self._bind(config.host, config.http_port, "HTTP API", "pass --port")
        ws_sock = self._bind(config.host, config.ws_port, "WebSocket API", "pass --ws-port") if api else None
        lambda_sock = self._bind("127.0.0.1", 0, "Lambda endpoint", "")
        urls = self._local_urls(resolver, http_sock, ws_sock, api)

        self._aws.start()
        self.tables = self._aws.create_tables(resolver, config.template_path)
        self.mappings = stream_mappings(resolver, directory)
        invoked = {route.function for route in routes.routes}
        invoked |= {authorizer.function for authorizer in route_authorizers.values() if authorizer}
        invoked |= api.functions if api else set()
        invoked |= {mapping.function for mapping in self.mappings}
        self.functions = self._function_specs(resolver, invoked, urls)
        environments = Environments.of(self.functions.values())
        environment.apply(environments.shared)
        # The local settings win over anything the template sets (no tracing, fake credentials).
        isolate_environment()
        lambda_url = base_url("http", "127.0.0.1", bound_port(lambda_sock))
        os.environ[LAMBDA_ENDPOINT_ENV] = lambda_url
        for conflict in environments.conflicts:
            _log.warning("%s: set per invocation; shared-layer code that caches it sees one value", conflict.describe())
        runtime = LambdaRuntime(self.functions, environments)
        self._runtime = runtime
        runtime.load()
        await self._ready_token(route_authorizers, api)

        self._lambda = LambdaEndpoint(runtime, directory, lambda_sock)
        await self._lambda.start()
        for mapping in self.mappings:
            if mapping.enabled:
                poller = StreamPoller(mapping, runtime, self._aws)
                await poller.start()
                self._pollers.append(poller)
        if api is not None and ws_sock is not None:
            self._websocket = WebSocketServer(api, runtime, ws_sock)
            await self._websocket.start()
        self._http = HttpApiServer(
            routes,
            runtime,
            http_sock,
            authorizers=route_authorizers,
            admin=self.tokens.handle if self.tokens else None,
        )
        await self._http.start()

    def _bind(self, host: str, port: int, what: str, option: str) -> socket.socket:
        sock = bind(host, port, what, option)
        self._sockets.append(sock)
        return sock

    def _local_urls(
        self, resolver: Resolver, http_sock: socket.socket, ws_sock: socket.socket | None, api: WebSocketApi | None
    ) -> LocalUrls:
        """Every HTTP API is served at the HTTP port's root; the WebSocket API under its stage."""
        urls = LocalUrls()
        http_base = base_url("http", self.config.host, bound_port(http_sock))
        template_resources = resolver.template.get("Resources") or {}
        http_apis = [logical_id for logical_id, resource in template_resources.items() if resource["Type"] == HTTP_API]
        for logical_id in [*http_apis, IMPLICIT_HTTP_API]:
            properties = (template_resources.get(logical_id) or {}).get("Properties") or {}
            stage = resolver.resolve_text(properties["StageName"]) if "StageName" in properties else None
            urls.add_api(local_id(logical_id), http_base, stage, keep_stage=False)
        if api is not None and ws_sock is not None:
            urls.add_api(
                api.api_id, base_url("http", self.config.host, bound_port(ws_sock)), api.stage, keep_stage=True
            )
        return urls

    def _function_specs(self, resolver: Resolver, invoked: set[str], urls: LocalUrls) -> dict[str, FunctionSpec]:
        """Every function something here invokes (those must load), and the others if they can."""
        root = self.config.template_path.parent
        specs = function_specs(resolver, root, invoked)
        for logical_id, resource in (resolver.template.get("Resources") or {}).items():
            if resource["Type"] != SERVERLESS_FUNCTION or logical_id in specs:
                continue
            try:
                specs.update(function_specs(resolver, root, {logical_id}))
            except UnresolvableError as error:
                _log.warning("%s is not loaded (nothing local invokes it): %s", logical_id, error)
        return {
            logical_id: replace(spec, environment=urls.localize_all(spec.environment))
            for logical_id, spec in specs.items()
        }

    async def _ready_token(self, route_authorizers: dict[str, HttpAuthorizer | None], api: WebSocketApi | None) -> None:
        """Store CLAUDE_EVENTS_TOKEN (or mint a token) in the table the authorizers read."""
        functions = {authorizer.function for authorizer in route_authorizers.values() if authorizer}
        if api is not None:
            functions |= {route.authorizer.function for route in api.routes.values() if route.authorizer}
        table_names = [table.name for table in self.tables]
        found = {function: tokens_table(self.functions[function].environment, table_names) for function in functions}
        for function, table in found.items():
            if table is None:
                _log.warning("%s names no single table in its environment: no ready token for it", function)
        tables = sorted({table for table in found.values() if table})
        if not tables:
            return
        if len(tables) > 1:
            _log.warning("authorizers read several tokens tables (%s); the ready token is in %s", tables, tables[0])
        self.tokens = LocalTokens(self._aws, tables[0])
        self.ready_token = await asyncio.to_thread(self.tokens.ready_token, self.config.token)
        self.token_origin = "from CLAUDE_EVENTS_TOKEN" if self.config.token else "minted for this run"

    async def stop(self) -> None:
        """Stop taking requests, close every WebSocket, stop the pollers, then the worker and moto."""
        if self._http is not None:
            await self._http.stop()
            self._http = None
        if self._websocket is not None:
            await self._websocket.stop()
            self._websocket = None
        for poller in self._pollers:
            await poller.stop()
        self._pollers = []
        if self._lambda is not None:
            await self._lambda.stop()
            self._lambda = None
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self._sockets = []
        os.environ.pop(LAMBDA_ENDPOINT_ENV, None)
        self._aws.stop()
