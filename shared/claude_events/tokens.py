"""API tokens: random, shown once, stored only as a hash, named, scoped and revocable.

A token reads `ce_<id>_<secret>`. The id is the table key, so a lookup needs no scan; the secret is
stored as its SHA-256 digest and compared in constant time (`hmac.compare_digest` on two 32-byte
digests), so neither the table nor the timing of a check gives the secret away.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from claude_events import timestamps

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SCOPES = ("ingest", "read")
PREFIX = "ce"
_ID_BYTES = 9
_SECRET_BYTES = 32
TOKEN_PATTERN = re.compile(r"^ce_([A-Za-z0-9-]{12})_([A-Za-z0-9_-]{43})$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class TokenError(ValueError):
    pass


@dataclass(frozen=True)
class TokenRecord:
    token_id: str
    name: str
    scopes: frozenset[str]
    revoked: bool
    created_at: str

    def public(self) -> dict[str, Any]:
        return {
            "id": self.token_id,
            "name": self.name,
            "scopes": sorted(self.scopes),
            "revoked": self.revoked,
            "createdAt": self.created_at,
        }


@dataclass(frozen=True)
class Principal:
    """Who a valid token belongs to and what it may do."""

    token_id: str
    name: str
    scopes: frozenset[str]


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    match = TOKEN_PATTERN.fullmatch(token)
    return (match.group(1), match.group(2)) if match else None


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(scopes)
    unknown = chosen - set(SCOPES)
    if not chosen or unknown:
        raise TokenError(f"scopes must be one or more of {', '.join(SCOPES)}")
    return chosen


class TokenStore:
    """The tokens table, behind the DynamoDB client it is given."""

    def __init__(self, client: DynamoDBClient, table_name: str, wall_clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table_name
        self._wall_clock = wall_clock

    def mint(self, name: str, scopes: Iterable[str]) -> tuple[str, TokenRecord]:
        """A new token and its record. The token itself exists only in the return value."""
        if not NAME_PATTERN.fullmatch(name):
            raise TokenError("name must be 1-64 characters: letters, digits and . _ @ -")
        chosen = check_scopes(scopes)
        if any(record.name == name and not record.revoked for record in self.all()):
            raise TokenError(f"a live token named {name!r} exists; revoke it first or pick another name")
        token_id = secrets.token_urlsafe(_ID_BYTES).replace("_", "-")
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        record = TokenRecord(
            token_id,
            name,
            chosen,
            revoked=False,
            created_at=timestamps.display(timestamps.from_epoch(self._wall_clock())),
        )
        self._client.put_item(
            TableName=self._table,
            Item={
                "tokenId": {"S": token_id},
                "secretHash": {"B": digest(secret)},
                "name": {"S": name},
                "scopes": {"SS": sorted(chosen)},
                "revoked": {"BOOL": False},
                "createdAt": {"S": record.created_at},
            },
            ConditionExpression="attribute_not_exists(tokenId)",
        )
        return f"{PREFIX}_{token_id}_{secret}", record

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token; None for anything else."""
        parts = parse(token)
        if parts is None:
            return None
        token_id, secret = parts
        item = self._client.get_item(TableName=self._table, Key={"tokenId": {"S": token_id}}, ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            # Compare anyway, so an unknown id costs what a known one does.
            hmac.compare_digest(digest(secret), bytes(_SECRET_BYTES))
            return None
        stored = bytes(item["secretHash"]["B"])
        if not hmac.compare_digest(digest(secret), stored) or item.get("revoked", {}).get("BOOL", False):
            return None
        return Principal(token_id, item["name"]["S"], frozenset(item["scopes"]["SS"]))

    def all(self) -> Iterator[TokenRecord]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "ProjectionExpression": "tokenId, #n, scopes, revoked, createdAt",
        }
        request["ExpressionAttributeNames"] = {"#n": "name"}
        while True:
            response = self._client.scan(**request)
            for item in response.get("Items", []):
                yield _record(item)
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def revoke(self, name_or_id: str) -> list[TokenRecord]:
        """Revoke the live tokens with this name (or this id); the records revoked."""
        targets = [
            record for record in self.all() if not record.revoked and name_or_id in (record.name, record.token_id)
        ]
        for record in targets:
            self._client.update_item(
                TableName=self._table,
                Key={"tokenId": {"S": record.token_id}},
                UpdateExpression="SET revoked = :true",
                # Never create a bare item if the token vanished since the scan.
                ConditionExpression="attribute_exists(tokenId)",
                ExpressionAttributeValues={":true": {"BOOL": True}},
            )
        return targets


def _record(item: dict[str, Any]) -> TokenRecord:
    return TokenRecord(
        token_id=item["tokenId"]["S"],
        name=item["name"]["S"],
        scopes=frozenset(item["scopes"]["SS"]),
        revoked=item.get("revoked", {}).get("BOOL", False),
        created_at=item.get("createdAt", {}).get("S", ""),
    )
