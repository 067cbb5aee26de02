"""Which scope each route needs, and the answers API Gateway expects from a Lambda authorizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claude_events.tokens import Principal, TokenStore, bearer_token

# Fail closed: a route missing here is refused whatever the token.
REQUIRED_SCOPE = {
    "POST /api/claude-events": "ingest",
    "GET /api/claude-events": "read",
    "GET /api/openapi.json": "read",
    "$connect": "read",
}


class Unauthorized(Exception):
    """API Gateway answers 401 when an authorizer fails with exactly the message "Unauthorized"."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@dataclass(frozen=True)
class Decision:
    principal: Principal
    route: str
    allowed: bool

    @property
    def context(self) -> dict[str, str]:
        return {
            "tokenName": self.principal.name,
            "tokenId": self.principal.token_id,
            "scopes": " ".join(sorted(self.principal.scopes)),
        }


class Authorizer:
    def __init__(self, tokens: TokenStore) -> None:
        self._tokens = tokens

    def decide(self, route: str, token: str | None) -> Decision:
        """Unauthorized (401) without a valid token; a Decision (allow, or 403) with one."""
        principal = self._tokens.verify(token) if token else None
        if principal is None:
            raise Unauthorized
        scope = REQUIRED_SCOPE.get(route)
        return Decision(principal, route, allowed=scope is not None and scope in principal.scopes)


def is_websocket(event: dict[str, Any]) -> bool:
    return "methodArn" in event


def route_and_token(event: dict[str, Any]) -> tuple[str, str | None]:
    """The route asked for and the presented token, for an HTTP API (2.0) or WebSocket event."""
    if is_websocket(event):
        route = str(event.get("requestContext", {}).get("routeKey", ""))
        return route, (event.get("queryStringParameters") or {}).get("token") or None
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    return str(event.get("routeKey", "")), bearer_token(headers.get("authorization"))


def http_answer(decision: Decision) -> dict[str, Any]:
    """HTTP API simple response: isAuthorized false is a 403."""
    return {"isAuthorized": decision.allowed, "context": decision.context}


def websocket_answer(decision: Decision, method_arn: str) -> dict[str, Any]:
    """WebSocket APIs take an IAM policy; Deny is a 403."""
    return {
        "principalId": decision.principal.token_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if decision.allowed else "Deny",
                    "Resource": method_arn,
                }
            ],
        },
        "context": decision.context,
    }
