"""Lambda authorizers as API Gateway runs them: identity sources, the call, the answer, the cache.

HTTP API (SAM `HttpApi` `Auth`): every route uses `DefaultAuthorizer` unless its event says
`Auth: {Authorizer: NONE}` (or names another authorizer). An identity source that is missing or
empty is a 401 without calling the function. The function gets a REQUEST event (payload 1.0 or
2.0); a simple response (`isAuthorized`) or an IAM policy decides; `context` reaches the
integration as `requestContext.authorizer.lambda`. The function raising exactly "Unauthorized" is
a 401, `isAuthorized: false` (or a policy that does not allow the route) a 403, anything else a
500. Answers are cached for `ReauthorizeEvery` seconds under the identity source values, so a
`$context.routeKey` identity source makes the cache per route.

WebSocket API (`AWS::ApiGatewayV2::Authorizer`, REQUEST, on `$connect` only): the same, with the
WebSocket REQUEST event (`methodArn`) and an IAM policy answer; never cached.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from local.apigw import http_authorizer_event
from local.functions import FunctionDirectory, merge_globals
from local.intrinsics import ACCOUNT_ID, REGION, Resolver, UnresolvableError
from local.lambda_runtime import Invocation, LambdaRuntime
from local.resources import HTTP_API, IMPLICIT_HTTP_API
from local.routes import RouteTable

# API Gateway's default when an authorizer sets no TTL but has identity sources.
DEFAULT_TTL_SECONDS = 300
UNAUTHORIZED = "Unauthorized"
INVOKE_ACTION = "execute-api:Invoke"
_HTTP_CONTEXT_VARIABLES = frozenset(
    {
        "routeKey",
        "httpMethod",
        "path",
        "stage",
        "requestId",
        "apiId",
        "domainName",
        "protocol",
        "identity.sourceIp",
        "identity.userAgent",
    }
)

_log = logging.getLogger("local.auth")


class AuthorizerAnswerError(ValueError):
    """The authorizer answered something API Gateway cannot use: a 500."""


@dataclass(frozen=True)
class AuthOutcome:
    """What API Gateway makes of an authorization: 200 to go on, or the status it answers."""

    status: int
    context: dict[str, Any] | None = None
    principal_id: str | None = None
    cached: bool = False
    detail: str = ""

    @property
    def allowed(self) -> bool:
        return self.status == 200


# IAM policies ---------------------------------------------------------------------------------


def policy_allows(document: Any, resource: str, action: str = INVOKE_ACTION) -> bool:
    """Whether an IAM policy document allows `action` on `resource` (an explicit Deny wins)."""
    if not isinstance(document, Mapping):
        raise AuthorizerAnswerError("policyDocument is not an object")
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        raise AuthorizerAnswerError("policyDocument has no Statement list")
    allowed = False
    for statement in statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") not in ("Allow", "Deny"):
            raise AuthorizerAnswerError("a Statement has no Effect of Allow or Deny")
        actions = _strings(statement.get("Action"), "Action")
        resources = _strings(statement.get("Resource"), "Resource")
        if any(_glob(pattern, action) for pattern in actions) and any(_glob(r, resource) for r in resources):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def _strings(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise AuthorizerAnswerError(f"a Statement's {name} is not a string or a list of strings")


def _glob(pattern: str, text: str) -> bool:
    """IAM wildcards: * any run of characters, ? one character."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, text, flags=re.DOTALL) is not None


def is_unauthorized(error: BaseException) -> bool:
    """The one error an authorizer raises on purpose."""
    return str(error) == UNAUTHORIZED


def classify_failure(invocation: Invocation) -> AuthOutcome:
    """A failed authorizer invocation: exactly "Unauthorized" is a 401, anything else a 500."""
    if invocation.error is not None and not invocation.timed_out and str(invocation.error) == UNAUTHORIZED:
        return AuthOutcome(401, detail="the authorizer raised Unauthorized")
    reason = "timed out" if invocation.timed_out else f"raised {type(invocation.error).__name__}"
    return AuthOutcome(500, detail=f"the authorizer {reason}")


# HTTP API ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpAuthorizer:
    api: str
    name: str
    function: str
    payload_version: str
    simple_responses: bool
    identity_sources: tuple[str, ...]
    ttl_seconds: int
    stage_variables: tuple[tuple[str, str], ...] = ()

    @property
    def caches(self) -> bool:
        return self.ttl_seconds > 0 and bool(self.identity_sources)


@dataclass(frozen=True)
class HttpAuthRequest:
    """What an HTTP API authorizer sees of a request."""

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]  # lowercased names
    route_key: str
    source_ip: str
    request_id: str
    api_id: str
    domain_name: str
    path_parameters: Mapping[str, str]
    stage: str = "$default"

    @property
    def route_arn(self) -> str:
        return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/{self.stage}/{self.method}{self.raw_path}"

    def context_variable(self, name: str) -> str | None:
        values = {
            "routeKey": self.route_key,
            "httpMethod": self.method,
            "path": self.raw_path,
            "stage": self.stage,
            "requestId": self.request_id,
            "apiId": self.api_id,
            "domainName": self.domain_name,
            "protocol": "HTTP/1.1",
            "identity.sourceIp": self.source_ip,
            "identity.userAgent": self.headers.get("user-agent", ""),
        }
        return values.get(name)

    def query_parameter(self, name: str) -> str | None:
        values = [value for key, value in parse_qsl(self.raw_query, keep_blank_values=True) if key == name]
        return ",".join(values) if values else None


def http_identity_values(authorizer: HttpAuthorizer, request: HttpAuthRequest) -> list[str] | None:
    """The identity source values in order; None when one is missing or empty (a 401 without a call)."""
    values: list[str] = []
    variables = dict(authorizer.stage_variables)
    for source in authorizer.identity_sources:
        value: str | None
        if source.startswith("$request.header."):
            value = request.headers.get(source.removeprefix("$request.header.").lower())
        elif source.startswith("$request.querystring."):
            value = request.query_parameter(source.removeprefix("$request.querystring."))
        elif source.startswith("$context."):
            value = request.context_variable(source.removeprefix("$context."))
        elif source.startswith("$stageVariables."):
            value = variables.get(source.removeprefix("$stageVariables."))
        else:
            value = None
        if not value:
            return None
        values.append(value)
    return values


def http_route_authorizers(
    resolver: Resolver, routes: RouteTable, directory: FunctionDirectory
) -> dict[str, HttpAuthorizer | None]:
    """Each route key's authorizer (None: no authorization), from the HttpApi resources' `Auth`."""
    template = resolver.template
    resources = template.get("Resources") or {}
    globals_api = (template.get("Globals") or {}).get("HttpApi") or {}
    api_properties: dict[str, dict[str, Any]] = {IMPLICIT_HTTP_API: dict(globals_api)}
    for logical_id, resource in resources.items():
        if resource["Type"] == HTTP_API:
            api_properties[logical_id] = merge_globals(globals_api, resource.get("Properties") or {})
    built: dict[tuple[str, str], HttpAuthorizer] = {}
    chosen: dict[str, HttpAuthorizer | None] = {}
    for route in routes.routes:
        properties = api_properties.get(route.api)
        if properties is None:
            raise UnresolvableError(f"{route.function}.{route.event_name}: ApiId {route.api} is not an HttpApi")
        auth = properties.get("Auth") or {}
        event = resources[route.function]["Properties"]["Events"][route.event_name]
        route_auth = (event.get("Properties") or {}).get("Auth") or {}
        name = route_auth.get("Authorizer", auth.get("DefaultAuthorizer"))
        if name is None or name == "NONE":
            chosen[route.route_key] = None
            continue
        where = f"{route.function}.{route.event_name} ({route.route_key})"
        if name == "AWS_IAM":
            raise UnresolvableError(f"{where}: AWS_IAM authorization is not emulated by the local stack")
        specs = auth.get("Authorizers") or {}
        if name not in specs:
            raise UnresolvableError(f"{where}: no authorizer {name} in {route.api}'s Auth.Authorizers")
        if (route.api, name) not in built:
            built[(route.api, name)] = _http_authorizer(
                resolver, api=route.api, name=name, raw_spec=specs[name], api_properties=properties, directory=directory
            )
        chosen[route.route_key] = built[(route.api, name)]
    return chosen


def _http_authorizer(
    resolver: Resolver,
    *,
    api: str,
    name: str,
    raw_spec: Mapping[str, Any],
    api_properties: Mapping[str, Any],
    directory: FunctionDirectory,
) -> HttpAuthorizer:
    where = f"{api} authorizer {name}"
    spec = resolver.resolve(dict(raw_spec))
    if "JwtConfiguration" in spec:
        raise UnresolvableError(f"{where}: JWT authorizers are not emulated by the local stack")
    if "FunctionArn" not in spec:
        raise UnresolvableError(f"{where}: a Lambda authorizer needs FunctionArn")
    function = directory.find(str(spec["FunctionArn"]))
    if function is None:
        raise UnresolvableError(f"{where}: FunctionArn {spec['FunctionArn']} is not a function of this template")
    version = str(spec.get("AuthorizerPayloadFormatVersion", ""))
    if version not in ("1.0", "2.0"):
        raise UnresolvableError(f"{where}: AuthorizerPayloadFormatVersion must be 1.0 or 2.0")
    simple = _truthy(spec.get("EnableSimpleResponses", False))
    if simple and version != "2.0":
        raise UnresolvableError(f"{where}: EnableSimpleResponses needs payload format 2.0")
    identity = spec.get("Identity") or {}
    sources: list[str] = []
    # SAM's order: headers, query strings, stage variables, context.
    for prefix, key in (
        ("$request.header.", "Headers"),
        ("$request.querystring.", "QueryStrings"),
        ("$stageVariables.", "StageVariables"),
        ("$context.", "Context"),
    ):
        sources += [prefix + str(value) for value in identity.get(key) or []]
    for source in sources:
        if source.startswith("$context.") and source.removeprefix("$context.") not in _HTTP_CONTEXT_VARIABLES:
            raise UnresolvableError(f"{where}: identity source {source} is not emulated by the local stack")
    ttl = int(identity.get("ReauthorizeEvery", DEFAULT_TTL_SECONDS)) if sources else 0
    variables = resolver.resolve(api_properties.get("StageVariables") or {}) or {}
    return HttpAuthorizer(
        api=api,
        name=name,
        function=function,
        payload_version=version,
        simple_responses=simple,
        identity_sources=tuple(sources),
        ttl_seconds=ttl,
        stage_variables=tuple(sorted((str(key), str(value)) for key, value in variables.items())),
    )


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


class AuthorizerCache:
    """Authorizer answers by (authorizer, identity values), each kept for the authorizer's TTL."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._entries: dict[tuple[str, str, tuple[str, ...]], tuple[float, Any]] = {}
        self._clock = clock

    def get(self, authorizer: HttpAuthorizer, identity: list[str]) -> Any | None:
        key = (authorizer.api, authorizer.name, tuple(identity))
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, answer = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return answer

    def put(self, authorizer: HttpAuthorizer, identity: list[str], answer: Any) -> None:
        if len(self._entries) > 10_000:
            self._expire()
        key = (authorizer.api, authorizer.name, tuple(identity))
        self._entries[key] = (self._clock() + authorizer.ttl_seconds, answer)

    def _expire(self) -> None:
        now = self._clock()
        for key in [key for key, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]


class HttpAuthorization:
    """Runs a route's authorizer for a request, through the cache."""

    def __init__(self, runtime: LambdaRuntime, cache: AuthorizerCache | None = None) -> None:
        self._runtime = runtime
        self._cache = cache or AuthorizerCache()

    async def authorize(self, authorizer: HttpAuthorizer, request: HttpAuthRequest) -> AuthOutcome:
        identity = http_identity_values(authorizer, request)
        if identity is None:
            return AuthOutcome(401, detail="an identity source is missing")
        answer = self._cache.get(authorizer, identity) if authorizer.caches else None
        cached = answer is not None
        if answer is None:
            event = http_authorizer_event(authorizer.payload_version, request, identity)
            invocation = await self._runtime.invoke(authorizer.function, event, expected=is_unauthorized)
            if invocation.failed:
                return classify_failure(invocation)
            answer = invocation.result
        try:
            outcome = self._evaluate(authorizer, answer, request)
        except AuthorizerAnswerError as error:
            _log.error("%s answered what API Gateway cannot use: %s", authorizer.function, error)
            return AuthOutcome(500, detail=str(error))
        if authorizer.caches and not cached:
            self._cache.put(authorizer, identity, answer)
        return AuthOutcome(outcome.status, outcome.context, outcome.principal_id, cached, outcome.detail)

    def _evaluate(self, authorizer: HttpAuthorizer, answer: Any, request: HttpAuthRequest) -> AuthOutcome:
        if not isinstance(answer, Mapping):
            raise AuthorizerAnswerError("the answer is not a JSON object")
        context = answer.get("context")
        if context is not None and not isinstance(context, Mapping):
            raise AuthorizerAnswerError("context is not an object")
        lambda_context = {"lambda": dict(context or {})}
        if authorizer.simple_responses:
            allowed = answer.get("isAuthorized")
            if not isinstance(allowed, bool):
                raise AuthorizerAnswerError("a simple response needs a boolean isAuthorized")
            detail = "isAuthorized false"
        else:
            allowed = policy_allows(answer.get("policyDocument"), request.route_arn)
            detail = "the policy does not allow this route"
        if not allowed:
            return AuthOutcome(403, detail=detail)
        principal = answer.get("principalId")
        return AuthOutcome(200, lambda_context, str(principal) if principal is not None else None)


def websocket_answer_outcome(answer: Any, method_arn: str, latency_ms: int) -> AuthOutcome:
    """A WebSocket REQUEST authorizer's IAM answer: Allow connects (context flattened), Deny is a 403."""
    if not isinstance(answer, Mapping):
        raise AuthorizerAnswerError("the answer is not a JSON object")
    if "principalId" not in answer:
        raise AuthorizerAnswerError("the answer has no principalId")
    context = answer.get("context") or {}
    if not isinstance(context, Mapping):
        raise AuthorizerAnswerError("context is not an object")
    for key, value in context.items():
        if isinstance(value, (dict, list)):
            raise AuthorizerAnswerError(f"context value {key!r} is not a string, number or boolean")
    if not policy_allows(answer.get("policyDocument"), method_arn):
        return AuthOutcome(403, detail="the policy does not allow $connect")
    principal = str(answer["principalId"])
    flattened = {**context, "principalId": principal, "integrationLatency": latency_ms}
    return AuthOutcome(200, flattened, principal)
