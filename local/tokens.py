"""API tokens of the local stack: the ready-to-use token printed at startup, and the admin endpoint.

The tokens table is the one the template's authorizer function reads (its settings say which).
The ready token comes from CLAUDE_EVENTS_TOKEN when set (stored as `TokenStore.mint` stores a
token, under the name "local", with every scope), else it is minted; a malformed
CLAUDE_EVENTS_TOKEN stops the stack with a message saying why.

`/_local/tokens` on the HTTP port, for loopback clients only (`python -m cli.tokens --local URL`):
    GET                       -> {"tokens": [record, ...]}
    POST {"name", "scopes"}   -> 201 {"token", "record"}
    POST /revoke {"name"}     -> {"revoked": [record, ...]}
Errors are 4xx with {"message"} (409 for a name a live token has). A record is
TokenRecord.public(): never the token or its hash.

The token layer (claude_events) is imported from the template's shared layer, which is on the
path once the functions are loaded.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from local.aws import LocalAws
from local.endpoints import is_loopback

if TYPE_CHECKING:
    from claude_events.tokens import TokenStore

TOKEN_ENV = "CLAUDE_EVENTS_TOKEN"  # noqa: S105 - the name of a variable, not a secret
READY_TOKEN_NAME = "local"  # noqa: S105 - a token's name
ADMIN_PATH = "/_local/tokens"


class ReadyTokenError(ValueError):
    """CLAUDE_EVENTS_TOKEN is not a token the stack can use."""


def tokens_table(environment: Mapping[str, str], table_names: Iterable[str]) -> str | None:
    """The table an authorizer function reads: the one table its environment names.

    With several, the one in a variable whose name mentions TOKEN; None when that is not one table.
    """
    named = {name: value for name, value in environment.items() if value in set(table_names)}
    if len(set(named.values())) > 1:
        named = {name: value for name, value in named.items() if "TOKEN" in name.upper()}
    values = set(named.values())
    return values.pop() if len(values) == 1 else None


class LocalTokens:
    def __init__(self, aws: LocalAws, table_name: str) -> None:
        self.table_name = table_name
        self._aws = aws

    def _store(self) -> TokenStore:
        from claude_events.tokens import TokenStore  # noqa: PLC0415 - from the layer, once loaded

        return TokenStore(self._aws.dynamodb(), self.table_name)

    def ready_token(self, preset: str | None) -> str:
        """CLAUDE_EVENTS_TOKEN stored with both scopes, or a new token named "local"."""
        from claude_events import timestamps, tokens  # noqa: PLC0415 - from the layer, once loaded

        if not preset:
            token, _ = self._store().mint(READY_TOKEN_NAME, tokens.SCOPES)
            return token
        parts = tokens.parse(preset.strip())
        if parts is None:
            raise ReadyTokenError(
                f"{TOKEN_ENV} is set but is not a Claude Events token: expected ce_<12 id characters>_<43 secret "
                "characters> (letters, digits, - and _), as `python -m cli.tokens mint` prints. "
                f"Unset {TOKEN_ENV} to have the stack mint one."
            )
        token_id, secret = parts
        self._aws.dynamodb().put_item(
            TableName=self.table_name,
            Item={
                "tokenId": {"S": token_id},
                "secretHash": {"B": tokens.digest(secret)},
                "name": {"S": READY_TOKEN_NAME},
                "scopes": {"SS": sorted(tokens.SCOPES)},
                "revoked": {"BOOL": False},
                "createdAt": {"S": timestamps.display(timestamps.from_epoch(time.time()))},
            },
        )
        return preset.strip()

    # The admin endpoint ---------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        from claude_events.tokens import TokenError  # noqa: PLC0415 - from the layer, once loaded

        if not is_loopback(request.remote):
            return _answer(403, {"message": "the token admin endpoint answers loopback clients only"})
        path = request.path.rstrip("/")
        actions = {
            ("GET", ADMIN_PATH): self._list,
            ("POST", ADMIN_PATH): self._mint,
            ("POST", f"{ADMIN_PATH}/revoke"): self._revoke,
        }
        action = actions.get((request.method, path))
        if action is None:
            if path in (ADMIN_PATH, f"{ADMIN_PATH}/revoke"):
                return _answer(405, {"message": f"{request.method} is not allowed on {path}"})
            return _answer(404, {"message": f"no local admin endpoint {path}"})
        try:
            return await action(request)
        except (TokenError, _BadBodyError) as problem:
            # A live token of that name already exists: a conflict, not a bad request.
            return _answer(409 if "exists" in str(problem) else 400, {"message": str(problem)})

    async def _list(self, request: web.Request) -> web.Response:
        records = await asyncio.to_thread(lambda: [record.public() for record in self._store().all()])
        return _answer(200, {"tokens": records})

    async def _mint(self, request: web.Request) -> web.Response:
        from claude_events.tokens import SCOPES  # noqa: PLC0415 - from the layer, once loaded

        body = await _json_body(request)
        name, scopes = body.get("name"), body.get("scopes", list(SCOPES))
        if not isinstance(name, str) or not isinstance(scopes, list):
            return _answer(400, {"message": 'send {"name": "...", "scopes": ["ingest", "read"]}'})
        token, record = await asyncio.to_thread(self._store().mint, name, scopes)
        return _answer(201, {"token": token, "record": record.public()})

    async def _revoke(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            return _answer(400, {"message": 'send {"name": "<token name or id>"}'})
        revoked = await asyncio.to_thread(self._store().revoke, name)
        return _answer(200, {"revoked": [record.public() for record in revoked]})


class _BadBodyError(ValueError):
    pass


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise _BadBodyError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise _BadBodyError("the body must be a JSON object")
    return body


def _answer(status: int, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status)
