"""The local stack: moto, the template's tables and functions, and the APIs that invoke them.

Everything comes from template.yaml; a route, table or environment variable added there is
served here with no change to this package.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from local import environment, resources
from local.aws import LocalAws, LocalTable, isolate_environment
from local.environment import Environments
from local.functions import FunctionSpec, function_specs
from local.http_server import HttpApiServer
from local.intrinsics import Resolver
from local.lambda_runtime import LambdaRuntime
from local.routes import http_routes
from local.template import TEMPLATE, load

DEFAULT_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 3000

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StackConfig:
    host: str = DEFAULT_HOST
    http_port: int = DEFAULT_HTTP_PORT
    parameters: dict[str, str] = field(default_factory=dict)
    template_path: Path = TEMPLATE


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.tables: list[LocalTable] = []
        self.functions: dict[str, FunctionSpec] = {}
        self._aws = LocalAws()
        self._runtime: LambdaRuntime | None = None
        self._http: HttpApiServer | None = None

    @property
    def http(self) -> HttpApiServer:
        if self._http is None:
            raise RuntimeError("the stack is not started")
        return self._http

    async def start(self) -> None:
        """Bring everything up; on any failure, take down what was started and re-raise."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        template = load(self.config.template_path)
        resolver = Resolver.for_template(template, self.config.parameters)
        resources.register(resolver)
        self._aws.start()
        self.tables = self._aws.create_tables(resolver, self.config.template_path)
        routes = http_routes(template)
        # Only the functions something here invokes: the others may need what the local stack
        # does not provide yet, and need not stop it from serving the rest.
        invoked = {route.function for route in routes.routes}
        self.functions = function_specs(resolver, self.config.template_path.parent, invoked)
        environments = Environments.of(self.functions.values())
        environment.apply(environments.shared)
        # The local settings win over anything the template sets (no tracing, fake credentials).
        isolate_environment()
        for conflict in environments.conflicts:
            _log.warning("%s: set per invocation; shared-layer code that caches it sees one value", conflict.describe())
        self._runtime = LambdaRuntime(self.functions, environments)
        self._runtime.load()
        self._http = HttpApiServer(routes, self._runtime, self.config.host, self.config.http_port)
        await self._http.start()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.stop()
            self._http = None
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
        self._aws.stop()
