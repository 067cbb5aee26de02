"""The template's WebSocket API, from its AWS::ApiGatewayV2 resources.

Api (ProtocolType WEBSOCKET, RouteSelectionExpression) <- Routes (RouteKey, Target
"integrations/<id>", AuthorizationType/AuthorizerId) -> Integrations (AWS_PROXY to a Lambda
function) ; Authorizers (REQUEST, IdentitySource, AuthorizerUri) ; Stage (StageName) ;
RouteResponses (a route whose integration answer goes back to the client).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local.functions import FunctionDirectory
from local.intrinsics import ACCOUNT_ID, REGION, Resolver, UnresolvableError
from local.resources import (
    API_V2,
    API_V2_AUTHORIZER,
    API_V2_INTEGRATION,
    API_V2_ROUTE,
    API_V2_ROUTE_RESPONSE,
    API_V2_STAGE,
)

CONNECT = "$connect"
DISCONNECT = "$disconnect"
DEFAULT = "$default"
_SELECTION = re.compile(r"^\$\{?request\.body\.([A-Za-z0-9_.]+)\}?$")


@dataclass(frozen=True)
class WsAuthorizer:
    logical_id: str
    name: str
    function: str
    identity_sources: tuple[str, ...]  # route.request.querystring.token, route.request.header.X, …


@dataclass(frozen=True)
class WsRoute:
    key: str
    function: str | None
    authorizer: WsAuthorizer | None = None
    two_way: bool = False


@dataclass(frozen=True)
class WebSocketApi:
    logical_id: str
    api_id: str
    name: str
    selection_path: tuple[str, ...]
    stage: str
    routes: Mapping[str, WsRoute] = field(default_factory=dict)

    def method_arn(self, route_key: str) -> str:
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/{self.stage}/{route_key}"

    def select(self, body: str | bytes) -> WsRoute | None:
        """The route a message takes: the selection expression's value if a route has it, else $default."""
        key: Any = None
        if isinstance(body, str):
            try:
                key = json.loads(body)
            except ValueError:
                key = None
            for part in self.selection_path:
                key = key.get(part) if isinstance(key, dict) else None
        if isinstance(key, (str, int, float)) and not isinstance(key, bool) and str(key) in self.routes:
            chosen = self.routes[str(key)]
            if chosen.key not in (CONNECT, DISCONNECT):
                return chosen
        return self.routes.get(DEFAULT)

    @property
    def functions(self) -> set[str]:
        found = {route.function for route in self.routes.values() if route.function}
        found |= {route.authorizer.function for route in self.routes.values() if route.authorizer}
        return found


def websocket_apis(resolver: Resolver, directory: FunctionDirectory) -> list[WebSocketApi]:
    resources: dict[str, Any] = resolver.template.get("Resources") or {}
    apis: list[WebSocketApi] = []
    for logical_id, resource in resources.items():
        properties = resource.get("Properties") or {}
        if resource["Type"] != API_V2 or properties.get("ProtocolType") != "WEBSOCKET":
            continue
        apis.append(_api(resolver, directory, logical_id, properties, resources))
    return apis


def _api(
    resolver: Resolver,
    directory: FunctionDirectory,
    api_logical_id: str,
    properties: Mapping[str, Any],
    resources: Mapping[str, Any],
) -> WebSocketApi:
    expression = resolver.resolve_text(properties.get("RouteSelectionExpression", "$request.body.action"))
    selection = _SELECTION.match(expression)
    if selection is None:
        raise UnresolvableError(f"{api_logical_id}: RouteSelectionExpression {expression} is not emulated")
    parts = _parts_of(api_logical_id, resources, resolver)
    integration_ids = {resolver.ref(logical_id): logical_id for logical_id in parts[API_V2_INTEGRATION]}
    authorizer_ids = {resolver.ref(logical_id): logical_id for logical_id in parts[API_V2_AUTHORIZER]}
    stages = [resolver.resolve_text(spec["StageName"]) for spec in parts[API_V2_STAGE].values()]
    two_way = {
        resolver.resolve_text(spec.get("RouteId"))
        for spec in parts[API_V2_ROUTE_RESPONSE].values()
        if "RouteId" in spec
    }
    routes: dict[str, WsRoute] = {}
    for route_id, spec in parts[API_V2_ROUTE].items():
        key = resolver.resolve_text(spec["RouteKey"])
        where = f"{route_id} ({key})"
        function = None
        if "Target" in spec:
            target = resolver.resolve_text(spec["Target"])
            integration_id = integration_ids.get(target.removeprefix("integrations/"))
            if not target.startswith("integrations/") or integration_id is None:
                raise UnresolvableError(f"{where}: Target {target} is not an integration of {api_logical_id}")
            function = _integration_function(resolver, directory, integration_id, parts[API_V2_INTEGRATION])
        authorizer = None
        authorization = resolver.resolve_text(spec.get("AuthorizationType", "NONE"))
        if authorization == "CUSTOM":
            if key != CONNECT:
                raise UnresolvableError(f"{where}: a WebSocket API authorizes $connect only")
            authorizer_id = authorizer_ids.get(resolver.resolve_text(spec.get("AuthorizerId", "")))
            if authorizer_id is None:
                raise UnresolvableError(f"{where}: AuthorizerId is not an authorizer of {api_logical_id}")
            authorizer = _authorizer(resolver, directory, authorizer_id, parts[API_V2_AUTHORIZER][authorizer_id])
        elif authorization != "NONE":
            raise UnresolvableError(f"{where}: AuthorizationType {authorization} is not emulated by the local stack")
        routes[key] = WsRoute(key, function, authorizer, resolver.names.get(route_id, "") in two_way)
    return WebSocketApi(
        logical_id=api_logical_id,
        api_id=resolver.ref(api_logical_id),
        name=resolver.resolve_text(properties.get("Name", api_logical_id)),
        selection_path=tuple(selection.group(1).split(".")),
        stage=stages[0] if stages else "$default",
        routes=routes,
    )


def _parts_of(api_logical_id: str, resources: Mapping[str, Any], resolver: Resolver) -> dict[str, dict[str, Any]]:
    """The API's routes, integrations, authorizers, stages and route responses, by logical id."""
    wanted = (API_V2_ROUTE, API_V2_INTEGRATION, API_V2_AUTHORIZER, API_V2_STAGE, API_V2_ROUTE_RESPONSE)
    parts: dict[str, dict[str, Any]] = {kind: {} for kind in wanted}
    for logical_id, resource in resources.items():
        if resource["Type"] not in wanted:
            continue
        properties = resource.get("Properties") or {}
        api = properties.get("ApiId")
        if api is not None and resolver.resolve(api) == resolver.ref(api_logical_id):
            parts[resource["Type"]][logical_id] = properties
    return parts


def _integration_function(
    resolver: Resolver, directory: FunctionDirectory, integration_id: str, integrations: Mapping[str, Any]
) -> str:
    spec = integrations[integration_id]
    kind = resolver.resolve_text(spec.get("IntegrationType", ""))
    if kind != "AWS_PROXY":
        raise UnresolvableError(f"{integration_id}: IntegrationType {kind} is not emulated (AWS_PROXY only)")
    uri = resolver.resolve_text(spec.get("IntegrationUri", ""))
    function = directory.from_integration_uri(uri)
    if function is None:
        raise UnresolvableError(f"{integration_id}: IntegrationUri {uri} is not a function of this template")
    return function


def _authorizer(
    resolver: Resolver, directory: FunctionDirectory, logical_id: str, spec: Mapping[str, Any]
) -> WsAuthorizer:
    kind = resolver.resolve_text(spec.get("AuthorizerType", ""))
    if kind != "REQUEST":
        raise UnresolvableError(f"{logical_id}: AuthorizerType {kind} is not emulated (REQUEST only)")
    uri = resolver.resolve_text(spec.get("AuthorizerUri", ""))
    function = directory.from_integration_uri(uri)
    if function is None:
        raise UnresolvableError(f"{logical_id}: AuthorizerUri {uri} is not a function of this template")
    sources = tuple(str(source) for source in resolver.resolve(spec.get("IdentitySource") or []))
    for source in sources:
        if not source.startswith(
            ("route.request.header.", "route.request.querystring.", "context.", "stageVariables.")
        ):
            raise UnresolvableError(f"{logical_id}: identity source {source} is not emulated by the local stack")
    return WsAuthorizer(logical_id, resolver.resolve_text(spec.get("Name", logical_id)), function, sources)
