"""Tokens and authorizers of the local stack, over loopback: every route x every kind of token.

The HTTP API runs the template's Lambda authorizer (simple responses, cached per token and route);
the WebSocket API runs its REQUEST authorizer on $connect. Tokens are minted and revoked through
the stack's loopback-only admin endpoint, and through `python -m cli.tokens --local`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from local.routes import http_routes
from local.template import load
from tests.e2e.clients import EVENTS, connected, hook_event, http_session, run, session_id
from tests.e2e.conftest import ROOT, Answer, RunningStack, make_token

pytestmark = pytest.mark.e2e

OPENAPI = "/api/openapi.json"
HEALTH = "/api/health"
# Every route that needs a token, and the scope it needs.
PROTECTED_ROUTES = [("POST", EVENTS, "ingest"), ("GET", EVENTS, "read"), ("GET", OPENAPI, "read")]
SUCCESS = {"POST": 201, "GET": 200}
_CONNECTED = re.compile(r"local\.ws: \$connect \S+ WsConnectFunction ")


@dataclass(frozen=True)
class Tokens:
    ingest: str
    read: str
    revoked: str


@pytest.fixture(scope="module")
def tokens(local_stack: RunningStack) -> Tokens:
    """An ingest-only and a read-only token, and one with both scopes revoked before any use."""
    suffix = uuid.uuid4().hex[:8]
    revoked = local_stack.mint(f"e2e-revoked-{suffix}", ["ingest", "read"])
    assert [record["name"] for record in local_stack.revoke(f"e2e-revoked-{suffix}")] == [f"e2e-revoked-{suffix}"]
    return Tokens(
        ingest=local_stack.mint(f"e2e-ingest-{suffix}", ["ingest"]),
        read=local_stack.mint(f"e2e-read-{suffix}", ["read"]),
        revoked=revoked,
    )


def call(stack: RunningStack, method: str, path: str, authorization: str | None, payload: Any = None) -> Answer:
    """One request through aiohttp with exactly this Authorization header (None: none)."""

    async def send() -> Answer:
        headers = {"Authorization": authorization} if authorization is not None else {}
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, f"{stack.base_url}{path}", headers=headers, json=payload) as answer,
        ):
            return Answer(answer.status, dict(answer.headers), await answer.read())

    return run(send())


def authorizer_invocations(stack: RunningStack) -> int:
    """How many times the authorizer function has run (it logs one of these two records each time)."""
    return len(stack.function_logs("token refused")) + len(stack.function_logs("token checked"))


def authorization_for(case: str, scope: str, tokens: Tokens) -> str | None:
    other = {"ingest": tokens.read, "read": tokens.ingest}
    right = {"ingest": tokens.ingest, "read": tokens.read}
    return {
        "no token": None,
        "malformed header": "Basic ZTJlOnBhc3N3b3Jk",
        "malformed token": "Bearer ce_not-a-token",
        "unknown token": f"Bearer {make_token()}",
        "revoked token": f"Bearer {tokens.revoked}",
        "wrong scope": f"Bearer {other[scope]}",
        "right scope": f"Bearer {right[scope]}",
    }[case]


REFUSALS = {
    "no token": 401,
    "malformed header": 401,
    "malformed token": 401,
    "unknown token": 401,
    "revoked token": 401,
    "wrong scope": 403,
}


def test_every_protected_route_of_the_template_is_covered():
    # GIVEN the template's HTTP routes
    routes = {route.route_key for route in http_routes(load()).routes}

    # WHEN those with an authorizer are compared with the ones these tests exercise
    # THEN every route is here; health and the dashboard page are the ones without a token
    public = {f"GET {HEALTH}", "GET /", "GET /dashboard/{version}/{asset}"}
    assert routes == {f"{method} {path}" for method, path, _ in PROTECTED_ROUTES} | public


@pytest.mark.parametrize("case", list(REFUSALS))
@pytest.mark.parametrize("route", PROTECTED_ROUTES, ids=lambda route: f"{route[0]} {route[1]}")
def test_http_route_refuses(local_stack: RunningStack, tokens: Tokens, route: tuple[str, str, str], case: str):
    # GIVEN a request to a protected route with this kind of token
    method, path, scope = route
    authorization = authorization_for(case, scope, tokens)
    authorizer_calls = authorizer_invocations(local_stack)

    # WHEN it is sent
    answer = call(local_stack, method, path, authorization, hook_event(session_id()) if method == "POST" else None)

    # THEN API Gateway refuses it with its own status and JSON body; the route's function never ran
    expected = REFUSALS[case]
    assert answer.status == expected, answer.body
    assert answer.json() == {"message": "Unauthorized" if expected == 401 else "Forbidden"}
    if case == "no token":  # a missing identity source is refused without calling the authorizer
        assert authorizer_invocations(local_stack) == authorizer_calls


@pytest.mark.parametrize(("method", "path", "scope"), PROTECTED_ROUTES)
def test_http_route_accepts_the_right_scope(
    local_stack: RunningStack, tokens: Tokens, method: str, path: str, scope: str
):
    # GIVEN a token with exactly the scope the route needs
    authorization = authorization_for("right scope", scope, tokens)

    # WHEN the route is called with it
    answer = call(local_stack, method, path, authorization, hook_event(session_id()) if method == "POST" else None)

    # THEN the function answers
    assert answer.status == SUCCESS[method], answer.body


@pytest.mark.parametrize("authorization", [None, "Bearer garbage"])
def test_health_needs_no_token(local_stack: RunningStack, authorization: str | None):
    # GIVEN no token, or a bad one
    # WHEN health is asked
    answer = call(local_stack, "GET", HEALTH, authorization)

    # THEN it answers anyway
    assert answer.status == 200, answer.body


def test_events_posted_with_a_token_carry_its_name(local_stack: RunningStack, tokens: Tokens):
    # GIVEN the ingest-only token (named e2e-ingest-...)
    # WHEN an event is posted with it
    answer = call(local_stack, "POST", EVENTS, f"Bearer {tokens.ingest}", hook_event(session_id()))

    # THEN the authorizer's context reached ingest: the event's source names the token
    assert answer.status == 201, answer.body
    assert answer.json()["event"]["source"]["token"].startswith("e2e-ingest-")


def test_cached_allow_does_not_leak_to_another_route(local_stack: RunningStack):
    # GIVEN an ingest-only token whose allow on POST is cached
    name = f"e2e-cache-{uuid.uuid4().hex[:8]}"
    bearer = f"Bearer {local_stack.mint(name, ['ingest'])}"
    assert call(local_stack, "POST", EVENTS, bearer, hook_event(session_id())).status == 201

    # WHEN it is used on GET (before and after it is revoked), and on POST again after the revocation
    get_before = call(local_stack, "GET", EVENTS, bearer)
    local_stack.revoke(name)
    post_after = call(local_stack, "POST", EVENTS, bearer, hook_event(session_id()))
    openapi_after = call(local_stack, "GET", OPENAPI, bearer)

    # THEN GET is refused (403: the cache is per route), the cached POST allow outlives the
    # revocation for up to ReauthorizeEvery (as API Gateway's does), and an uncached route sees it
    assert get_before.status == 403, get_before.body
    assert post_after.status == 201, post_after.body
    assert openapi_after.status == 401, openapi_after.body


# WebSocket $connect ---------------------------------------------------------------------------

WS_CASES = {
    "no token": (None, 401),
    "malformed token": ("not-a-token", 401),
    "unknown token": ("unknown", 401),
    "revoked token": ("revoked", 401),
    "wrong scope": ("ingest", 403),
}


@pytest.mark.parametrize("case", list(WS_CASES))
def test_websocket_connect_refuses(local_stack: RunningStack, tokens: Tokens, case: str):
    # GIVEN a connect URL with this kind of token
    kind, expected = WS_CASES[case]
    token = {"unknown": make_token(), "revoked": tokens.revoked, "ingest": tokens.ingest}.get(kind or "", kind)
    reached_ws_connect = len(_CONNECTED.findall(local_stack.output()))
    authorizer_calls = authorizer_invocations(local_stack)

    async def attempt() -> int:
        async with http_session() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                async with connected(http, local_stack, token=token, sessionId=session_id()):
                    pass
            return refused.value.status

    # WHEN a client tries to connect
    status = run(attempt())

    # THEN the upgrade is refused before any WebSocket exists (so no history), and ws_connect never ran
    assert status == expected
    assert len(_CONNECTED.findall(local_stack.output())) == reached_ws_connect
    if kind is None:  # no token parameter: refused without calling the authorizer
        assert authorizer_invocations(local_stack) == authorizer_calls


def test_websocket_connect_with_read_scope_gets_history(local_stack: RunningStack, tokens: Tokens):
    # GIVEN a session with one event, and a read-only token
    session = session_id()
    assert local_stack.post_json(EVENTS, hook_event(session)).status == 201

    async def attempt() -> list[dict[str, Any]]:
        async with http_session() as http, connected(http, local_stack, token=tokens.read, sessionId=session) as client:
            return await client.history()

    # WHEN a client connects with it
    history = run(attempt())

    # THEN it is connected and gets the history
    assert [event["sessionId"] for event in history] == [session]


# Token administration ---------------------------------------------------------------------------


def cli(stack: RunningStack, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "cli.tokens", "--local", stack.base_url, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_cli_mints_lists_and_revokes_against_the_local_stack(local_stack: RunningStack):
    name = f"e2e-cli-{uuid.uuid4().hex[:8]}"

    # WHEN a read token is minted with the CLI
    minted = cli(local_stack, "mint", name, "--scope", "read")
    token = minted.stdout.strip()

    # THEN it is printed once and works on a read route
    assert minted.returncode == 0, minted.stderr
    assert re.fullmatch(r"ce_[A-Za-z0-9-]{12}_[A-Za-z0-9_-]{43}", token)
    assert local_stack.request("GET", EVENTS, token=token).status == 200

    # WHEN the tokens are listed, then it is revoked and listed again
    listed = cli(local_stack, "list")
    revoked = cli(local_stack, "revoke", name)
    listed_after = cli(local_stack, "list")
    revoked_again = cli(local_stack, "revoke", name)

    # THEN the list shows it live, then revoked; a second revoke finds nothing; it no longer works
    assert "\tread\tlive\t" in _line(listed.stdout, name)
    assert revoked.returncode == 0, revoked.stderr
    assert "\trevoked\t" in _line(listed_after.stdout, name)
    assert revoked_again.returncode == 1
    assert token not in listed.stdout + listed_after.stdout
    assert local_stack.request("GET", OPENAPI, token=token).status == 401


def _line(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{name}\t"))


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"name": "e2e bad name", "scopes": ["read"]}, 400, "name must be"),
        ({"name": "e2e-bad-scope", "scopes": ["admin"]}, 400, "scopes must be"),
        ({"name": "local", "scopes": ["read"]}, 409, "a live token named 'local' exists"),
    ],
)
def test_admin_endpoint_refuses_bad_mints_with_a_json_message(
    local_stack: RunningStack, payload: dict[str, Any], status: int, message: str
):
    # WHEN a mint request the token store refuses is sent
    answer = local_stack.request(
        "POST", "/_local/tokens", json.dumps(payload).encode(), {"content-type": "application/json"}, token=None
    )

    # THEN it is a 4xx whose JSON message says why
    assert answer.status == status, answer.body
    assert message in answer.json()["message"]


def test_admin_endpoint_lists_records_never_tokens(local_stack: RunningStack):
    # WHEN the tokens are listed
    answer = local_stack.request("GET", "/_local/tokens", token=None)

    # THEN the ready token is there by name, with its scopes, and no token or hash is
    assert answer.status == 200
    records = answer.json()["tokens"]
    local = next(record for record in records if record["name"] == "local" and not record["revoked"])
    assert local["scopes"] == ["ingest", "read"]
    assert set(local) == {"id", "name", "scopes", "revoked", "createdAt"}
    assert local_stack.token not in answer.body.decode()
