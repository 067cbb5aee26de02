"""The HTTP API's routes, from the functions' `HttpApi` events, matched as API Gateway matches them.

Route keys are `METHOD /path` (`ANY` for every method), paths may hold `{name}` variables and one
trailing greedy `{name+}`, and `$default` catches what nothing else does. The most specific route
wins: literal paths before variables, variables before greedy, a method before `ANY`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from local.intrinsics import UnresolvableError
from local.resources import IMPLICIT_HTTP_API, SERVERLESS_FUNCTION

DEFAULT_ROUTE = "$default"
ANY = "ANY"
_VARIABLE = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str
    function: str
    api: str = IMPLICIT_HTTP_API
    event_name: str = ""
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    _rank: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"

    @classmethod
    def build(
        cls, method: str, path: str, function: str, api: str = IMPLICIT_HTTP_API, event_name: str = ""
    ) -> HttpRoute:
        method = method.upper()
        if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
            method = ANY
        if path == DEFAULT_ROUTE:
            return cls(ANY, path, function, api, event_name, None, (1, 0, 0, 0))
        if not path.startswith("/"):
            raise UnresolvableError(f"{function}.{event_name}: path {path!r} must start with /")
        parts: list[str] = []
        variables = greedy = 0
        segments = path.split("/")[1:]
        for position, segment in enumerate(segments):
            variable = _VARIABLE.match(segment)
            if variable is None:
                parts.append(re.escape(segment))
            elif variable.group(2):
                if position != len(segments) - 1:
                    raise UnresolvableError(f"{function}.{event_name}: greedy {segment} must be the last segment")
                greedy = 1
                parts.append(f"(?P<{_group(variable.group(1))}>.+)")
            else:
                variables += 1
                parts.append(f"(?P<{_group(variable.group(1))}>[^/]+)")
        pattern = re.compile("^/" + "/".join(parts) + "$")
        return cls(method, path, function, api, event_name, pattern, (0, greedy, variables, int(method == ANY)))

    def match(self, method: str, raw_path: str) -> dict[str, str] | None:
        """Path parameters (decoded) if this route takes the request, else None."""
        if self.method not in (ANY, method.upper()):
            return None
        if self._pattern is None:
            return {}
        found = self._pattern.match(raw_path)
        if found is None:
            return None
        names = _names(self.path)
        return {names[group]: unquote(value) for group, value in found.groupdict().items()}


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]


class RouteTable:
    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        self.routes = sorted(routes, key=lambda route: (*route._rank, route.path))
        seen: dict[str, HttpRoute] = {}
        for route in self.routes:
            if route.route_key in seen:
                other = seen[route.route_key]
                raise UnresolvableError(
                    f"route {route.route_key} is declared twice ({other.function}.{other.event_name} "
                    f"and {route.function}.{route.event_name}); the local stack serves every HTTP API on one port"
                )
            seen[route.route_key] = route

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        for route in self.routes:
            parameters = route.match(method, raw_path)
            if parameters is not None:
                return RouteMatch(route, parameters)
        return None


def http_routes(template: Mapping[str, Any]) -> RouteTable:
    """Every `Type: HttpApi` event of every AWS::Serverless::Function, as SAM turns them into routes."""
    routes: list[HttpRoute] = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource["Type"] != SERVERLESS_FUNCTION:
            continue
        for event_name, event in ((resource.get("Properties") or {}).get("Events") or {}).items():
            if event.get("Type") != "HttpApi":
                continue
            properties = event.get("Properties") or {}
            method, path = properties.get("Method"), properties.get("Path")
            api = properties.get("ApiId", {"Ref": IMPLICIT_HTTP_API})
            api_id = api["Ref"] if isinstance(api, dict) and "Ref" in api else str(api)
            if method is None and path is None:
                method, path = ANY, DEFAULT_ROUTE
            routes.append(
                HttpRoute.build(str(method or ANY), str(path or DEFAULT_ROUTE), logical_id, api_id, event_name)
            )
    return RouteTable(routes)


def _group(name: str) -> str:
    """A regex group name for a path variable (which may hold . and -)."""
    return "v_" + re.sub(r"[^A-Za-z0-9_]", lambda match: f"_{ord(match.group()):x}_", name)


def _names(path: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for segment in path.split("/"):
        variable = _VARIABLE.match(segment)
        if variable is not None:
            names[_group(variable.group(1))] = variable.group(1)
    return names
