"""The authorizer function of both APIs, called as API Gateway calls it, on a moto tokens table.

Every route x {no token, malformed, unknown, forged, revoked, wrong scope, right scope}, over the
HTTP API (payload 2.0, simple responses) and the WebSocket API ($connect, IAM policy). API Gateway
answers 401 when the authorizer fails with exactly "Unauthorized"; 403 on isAuthorized false or Deny.

The template half: the HTTP authorizer's cache key holds the route, so an allow cached for one route
cannot answer for another; every route but health has the authorizer; $connect has the WebSocket one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from claude_events.authorization import REQUIRED_SCOPE
from claude_events.tokens import TokenStore, parse
from local.lambda_runtime import LambdaContext
from local.template import load, resources_of_type
from tests.support.auth import (
    create_tokens_table,
    forget_services,
    http_authorizer_event,
    use_tokens_table,
    websocket_authorizer_event,
    websocket_method_arn,
)
from tests.support.handlers import function_module

HTTP_ROUTES = sorted(route for route in REQUIRED_SCOPE if route != "$connect")
ALL_ROUTES = sorted(REQUIRED_SCOPE)
OTHER_SCOPE = {"ingest": "read", "read": "ingest"}


@dataclass
class Minted:
    store: TokenStore
    tokens: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.tokens[name]


@pytest.fixture
def minted(dynamodb, monkeypatch) -> Any:
    store = TokenStore(dynamodb, create_tokens_table(dynamodb))
    use_tokens_table(monkeypatch)
    tokens = {
        "ingest": store.mint("ingester", ["ingest"])[0],
        "read": store.mint("reader", ["read"])[0],
        "both": store.mint("admin", ["ingest", "read"])[0],
        "revoked-ingest": store.mint("old-ingester", ["ingest"])[0],
        "revoked-read": store.mint("old-reader", ["read"])[0],
        "revoked-both": store.mint("old-admin", ["ingest", "read"])[0],
    }
    for name in ("old-ingester", "old-reader", "old-admin"):
        store.revoke(name)
    yield Minted(store, tokens)
    forget_services()


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = function_module("authorizer").lambda_handler(event, LambdaContext("authorizer"))
    return result


def unknown_token(known: str) -> str:
    parts = parse(known)
    assert parts is not None
    return f"ce_{'Unknown-0000'}_{parts[1]}"


def forged_token(known: str) -> str:
    parts = parse(known)
    assert parts is not None
    token_id, secret = parts
    return f"ce_{token_id}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"


# --- one request, as API Gateway sends it ----------------------------------------------------


def request_event(route: str, presented: str | None, *, raw_header: str | None = None) -> dict[str, Any]:
    """The event for `route` presenting `presented` (a token) or `raw_header` (HTTP header as given)."""
    if route == "$connect":
        query = {"sessionId": "s-1"}
        value = raw_header if raw_header is not None else presented
        if value is not None:
            query["token"] = value
        return websocket_authorizer_event(query)
    headers = {"content-type": "application/json"}
    if raw_header is not None:
        headers["Authorization"] = raw_header
    elif presented is not None:
        headers["Authorization"] = f"Bearer {presented}"
    return http_authorizer_event(route, headers)


def assert_unauthorized(event: dict[str, Any]) -> None:
    with pytest.raises(Exception) as raised:  # noqa: PT011 - API Gateway only looks at the message
        invoke(event)
    assert str(raised.value) == "Unauthorized"
    assert raised.value.args == ("Unauthorized",)


def assert_forbidden(route: str, event: dict[str, Any]) -> dict[str, Any]:
    answer = invoke(event)
    if route == "$connect":
        assert_policy(answer, "Deny")
    else:
        assert answer["isAuthorized"] is False
    return answer


def assert_allowed(route: str, event: dict[str, Any], name: str, scopes: str) -> dict[str, Any]:
    answer = invoke(event)
    if route == "$connect":
        assert_policy(answer, "Allow")
        assert answer["principalId"]
        assert isinstance(answer["principalId"], str)
    else:
        assert answer["isAuthorized"] is True
        assert set(answer) == {"isAuthorized", "context"}
    assert answer["context"]["tokenName"] == name
    assert answer["context"]["scopes"] == scopes
    # API Gateway only takes strings, numbers and booleans as context values
    assert all(isinstance(value, str | int | float | bool) for value in answer["context"].values())
    return answer


def assert_policy(answer: dict[str, Any], effect: str) -> None:
    document = answer["policyDocument"]
    assert document["Version"] == "2012-10-17"
    (statement,) = document["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": effect, "Resource": websocket_method_arn()}


# --- every route x every case ----------------------------------------------------------------


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_no_token_is_401(minted, route):
    assert_unauthorized(request_event(route, None))


def test_websocket_empty_or_missing_query_is_401(minted):
    assert_unauthorized(websocket_authorizer_event(None))
    assert_unauthorized(websocket_authorizer_event({"token": ""}))
    assert_unauthorized(websocket_authorizer_event({"Token": minted["read"]}))  # names are case-sensitive


def test_http_header_name_is_case_insensitive(minted):
    event = http_authorizer_event("GET /api/claude-events", {"AUTHORIZATION": f"Bearer {minted['read']}"})

    assert invoke(event)["isAuthorized"] is True


MALFORMED_HEADERS: list[Callable[[str], str]] = [
    lambda token: f"Basic {token}",
    lambda token: "Bearer",
    lambda token: "Bearer ",
    lambda token: "Bearer not-a-token",
    lambda token: token,  # no scheme
    lambda token: f"Bearer {token[:-1]}",  # truncated
    lambda token: f"Bearer {token}x",
    lambda token: f"Bearer {token} {token}",
    lambda token: f"Bearer{token}",
    lambda token: f"Token {token}",
]
# The WebSocket token travels bare in the query string: a scheme there is malformed too.
MALFORMED_QUERY_TOKENS: list[Callable[[str], str]] = [
    lambda token: f"Bearer {token}",
    lambda token: "not-a-token",
    lambda token: " ",
    lambda token: token[:-1],
    lambda token: f"{token}x",
    lambda token: f"{token},{token}",  # a repeated parameter, as API Gateway joins them
    lambda token: f" {token}",
    lambda token: token.upper(),
]


@pytest.mark.parametrize("route", HTTP_ROUTES)
@pytest.mark.parametrize("malformed", range(len(MALFORMED_HEADERS)))
def test_malformed_header_is_401(minted, route, malformed):
    raw = MALFORMED_HEADERS[malformed](minted["both"])

    assert_unauthorized(request_event(route, None, raw_header=raw))


@pytest.mark.parametrize("malformed", range(len(MALFORMED_QUERY_TOKENS)))
def test_malformed_query_token_is_401(minted, malformed):
    raw = MALFORMED_QUERY_TOKENS[malformed](minted["both"])

    assert_unauthorized(request_event("$connect", None, raw_header=raw))


def test_token_in_a_header_does_not_open_a_websocket(minted):
    # The WebSocket authorizer reads the query string only.
    event = websocket_authorizer_event({"sessionId": "s-1"})
    event["headers"]["Authorization"] = f"Bearer {minted['both']}"

    assert_unauthorized(event)


def test_token_in_the_query_string_does_not_pass_the_http_authorizer(minted):
    event = http_authorizer_event("GET /api/claude-events", {}, query=f"token={minted['both']}")
    event["queryStringParameters"] = {"token": minted["both"]}

    assert_unauthorized(event)


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_unknown_token_is_401(minted, route):
    assert_unauthorized(request_event(route, unknown_token(minted["both"])))


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_forged_secret_of_a_known_id_is_401(minted, route):
    assert_unauthorized(request_event(route, forged_token(minted["both"])))


@pytest.mark.parametrize("route", ALL_ROUTES)
@pytest.mark.parametrize("which", ["revoked-ingest", "revoked-read", "revoked-both"])
def test_revoked_token_is_401(minted, route, which):
    assert_unauthorized(request_event(route, minted[which]))


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_wrong_scope_is_403(minted, route):
    wrong = OTHER_SCOPE[REQUIRED_SCOPE[route]]

    answer = assert_forbidden(route, request_event(route, minted[wrong]))

    assert answer["context"]["scopes"] == wrong


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_right_scope_is_allowed(minted, route):
    scope = REQUIRED_SCOPE[route]
    name = {"ingest": "ingester", "read": "reader"}[scope]

    answer = assert_allowed(route, request_event(route, minted[scope]), name, scope)

    parts = parse(minted[scope])
    assert parts is not None
    assert answer["context"]["tokenId"] == parts[0]
    if route == "$connect":
        assert answer["principalId"] == parts[0]


@pytest.mark.parametrize("route", ALL_ROUTES)
def test_token_with_both_scopes_is_allowed_everywhere(minted, route):
    assert_allowed(route, request_event(route, minted["both"]), "admin", "ingest read")


@pytest.mark.parametrize(
    "route",
    [
        "DELETE /api/claude-events",
        "PUT /api/claude-events",
        "GET /api/tokens",
        "POST /api/openapi.json",
        "get /api/claude-events",
        "GET /api/claude-events/",
        "$default",
        "",
    ],
)
def test_unknown_route_is_denied_even_with_both_scopes(minted, route):
    answer = invoke(http_authorizer_event(route, {"Authorization": f"Bearer {minted['both']}"}))

    assert answer["isAuthorized"] is False


@pytest.mark.parametrize("route_key", ["$default", "$disconnect", "history", "subscribe", ""])
def test_websocket_routes_other_than_connect_are_denied(minted, route_key):
    # The WebSocket authorizer is attached to $connect only; anything else it sees is refused.
    event = websocket_authorizer_event({"token": minted["both"]}, route_key=route_key)

    answer = invoke(event)

    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == websocket_method_arn(route_key)


def test_allow_names_exactly_the_method_arn(minted):
    event = websocket_authorizer_event({"token": minted["read"]})
    event["methodArn"] = "arn:aws:execute-api:eu-west-1:210987654321:otherapi/prod/$connect"

    answer = invoke(event)

    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Resource"] == event["methodArn"]
    assert "*" not in statement["Resource"]


def test_ingest_token_allowed_on_post_is_denied_on_get(minted):
    ingest = {"Authorization": f"Bearer {minted['ingest']}"}

    post = invoke(http_authorizer_event("POST /api/claude-events", ingest))
    get = invoke(http_authorizer_event("GET /api/claude-events", ingest))
    spec = invoke(http_authorizer_event("GET /api/openapi.json", ingest))

    assert post["isAuthorized"] is True
    assert get["isAuthorized"] is False
    assert spec["isAuthorized"] is False


def test_read_token_allowed_on_get_is_denied_on_post(minted):
    read = {"Authorization": f"Bearer {minted['read']}"}

    assert invoke(http_authorizer_event("GET /api/claude-events", read))["isAuthorized"] is True
    assert invoke(http_authorizer_event("POST /api/claude-events", read))["isAuthorized"] is False


def test_revocation_takes_effect_on_the_next_uncached_call(minted):
    token, _ = minted.store.mint("soon-gone", ["ingest"])
    event = http_authorizer_event("POST /api/claude-events", {"Authorization": f"Bearer {token}"})
    assert invoke(event)["isAuthorized"] is True

    minted.store.revoke("soon-gone")

    assert_unauthorized(event)


def test_tokens_table_is_read_from_the_environment(dynamodb, monkeypatch):
    # GIVEN two tables, the function configured with the second
    first = TokenStore(dynamodb, create_tokens_table(dynamodb, "tokens-one"))
    second = TokenStore(dynamodb, create_tokens_table(dynamodb, "tokens-two"))
    only_in_first, _ = first.mint("alice", ["read"])
    only_in_second, _ = second.mint("bob", ["read"])
    use_tokens_table(monkeypatch, "tokens-two")
    try:
        # THEN only the second table's token is known
        answer = invoke(http_authorizer_event("GET /api/claude-events", {"Authorization": f"Bearer {only_in_second}"}))
        assert answer["isAuthorized"] is True
        assert answer["context"]["tokenName"] == "bob"
        assert_unauthorized(
            http_authorizer_event("GET /api/claude-events", {"Authorization": f"Bearer {only_in_first}"})
        )
    finally:
        forget_services()


# --- API Gateway's authorizer cache, keyed as the template says ------------------------------


def http_authorizer() -> dict[str, Any]:
    auth = load()["Resources"]["HttpApi"]["Properties"]["Auth"]
    authorizer: dict[str, Any] = auth["Authorizers"][auth["DefaultAuthorizer"]]
    return authorizer


def identity_sources(identity: dict[str, Any]) -> list[str]:
    """SAM's Identity block as API Gateway identity-source expressions."""
    sources = [f"$request.header.{name}" for name in identity.get("Headers", [])]
    sources += [f"$request.querystring.{name}" for name in identity.get("QueryStrings", [])]
    sources += [f"$context.{name}" for name in identity.get("Context", [])]
    sources += [f"$stageVariables.{name}" for name in identity.get("StageVariables", [])]
    return sources


def resolve(source: str, event: dict[str, Any]) -> str | None:
    if source.startswith("$request.header."):
        headers = {key.lower(): value for key, value in event["headers"].items()}
        return headers.get(source.removeprefix("$request.header.").lower())
    if source.startswith("$request.querystring."):
        return (event.get("queryStringParameters") or {}).get(source.removeprefix("$request.querystring."))
    if source.startswith("$context."):
        return str(event["requestContext"][source.removeprefix("$context.")])
    raise AssertionError(f"identity source {source} not simulated")


class CachingHttpApi:
    """API Gateway's HTTP authorizer step: answers cached per identity-source values."""

    def __init__(self, sources: list[str]) -> None:
        self.sources = sources
        self.cache: dict[tuple[str | None, ...], bool] = {}
        self.invocations = 0

    def status(self, route_key: str, token: str) -> int:
        event = http_authorizer_event(route_key, {"Authorization": f"Bearer {token}"})
        key = tuple(resolve(source, event) for source in self.sources)
        if None in key:
            return 401  # an identity source is missing: API Gateway refuses without calling
        if key not in self.cache:
            self.invocations += 1
            try:
                self.cache[key] = bool(invoke(event)["isAuthorized"])
            except Exception as error:
                if str(error) != "Unauthorized":
                    raise
                return 401
        return 200 if self.cache[key] else 403


def test_template_authorizer_cache_key_includes_the_route_and_the_header():
    authorizer = http_authorizer()
    identity = authorizer["Identity"]

    assert "routeKey" in identity["Context"]
    assert "Authorization" in identity["Headers"]
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert identity["ReauthorizeEvery"] == {"Ref": "AuthorizerCacheSeconds"}


def test_cached_post_allow_does_not_answer_a_get(minted):
    # GIVEN API Gateway caching answers by the template's identity sources
    gateway = CachingHttpApi(identity_sources(http_authorizer()["Identity"]))

    # WHEN an ingest token is allowed on POST (and that allow is cached)
    assert gateway.status("POST /api/claude-events", minted["ingest"]) == 200
    assert gateway.status("POST /api/claude-events", minted["ingest"]) == 200
    assert gateway.invocations == 1

    # THEN the same token on GET is a cache miss, and the authorizer refuses it
    assert gateway.status("GET /api/claude-events", minted["ingest"]) == 403
    assert gateway.status("GET /api/openapi.json", minted["ingest"]) == 403
    assert gateway.invocations == 3


def test_without_the_route_in_the_key_the_cache_would_leak(minted):
    # The control: what the route in the cache key prevents.
    gateway = CachingHttpApi(["$request.header.Authorization"])

    assert gateway.status("POST /api/claude-events", minted["ingest"]) == 200
    assert gateway.status("GET /api/claude-events", minted["ingest"]) == 200  # the leak


def test_cache_time_is_a_bounded_parameter_documented_for_revocation():
    parameter = load()["Parameters"]["AuthorizerCacheSeconds"]

    assert 0 <= parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"] <= 3600
    assert "revoked" in parameter["Description"]


# --- every route has its authorizer ------------------------------------------------------------


def http_api_routes() -> dict[str, dict[str, Any]]:
    """'METHOD /path' -> the HttpApi event's properties, across every function in the template."""
    routes: dict[str, dict[str, Any]] = {}
    for resource in resources_of_type("AWS::Serverless::Function").values():
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                properties = event["Properties"]
                assert properties["ApiId"] == {"Ref": "HttpApi"}
                routes[f"{properties['Method'].upper()} {properties['Path']}"] = properties
    return routes


# The routes that serve no data: liveness and the dashboard page (which asks for a token itself).
PUBLIC_ROUTES = {"GET /api/health", "GET /", "GET /dashboard/{version}/{asset}"}


def test_every_http_route_but_the_public_ones_has_the_default_authorizer():
    routes = http_api_routes()
    auth = load()["Resources"]["HttpApi"]["Properties"]["Auth"]

    assert auth["DefaultAuthorizer"] == "TokenAuthorizer"
    assert set(routes) >= {*PUBLIC_ROUTES, *HTTP_ROUTES}
    for route in PUBLIC_ROUTES:
        assert routes[route]["Auth"] == {"Authorizer": "NONE"}
    for route, properties in routes.items():
        if route in PUBLIC_ROUTES:
            continue
        authorizer = (properties.get("Auth") or {}).get("Authorizer", auth["DefaultAuthorizer"])
        assert authorizer == "TokenAuthorizer", f"{route} is not behind the token authorizer"


def test_every_authorized_http_route_has_a_required_scope():
    # A route the template serves but REQUIRED_SCOPE lacks would be refused for every token.
    routes = set(http_api_routes()) - PUBLIC_ROUTES

    assert routes == set(HTTP_ROUTES)


def test_websocket_connect_route_uses_the_token_authorizer():
    resources = load()["Resources"]
    routes = resources_of_type("AWS::ApiGatewayV2::Route")
    (connect,) = [r for r in routes.values() if r["Properties"]["RouteKey"] == "$connect"]

    assert connect["Properties"]["AuthorizationType"] == "CUSTOM"
    authorizer_id = connect["Properties"]["AuthorizerId"]["Ref"]
    authorizer = resources[authorizer_id]["Properties"]
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["IdentitySource"] == ["route.request.querystring.token"]
    assert "AuthorizerFunction.Arn" in authorizer["AuthorizerUri"]["Fn::Sub"]
    assert authorizer["ApiId"] == connect["Properties"]["ApiId"]
