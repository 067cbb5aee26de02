"""Mint, list and revoke API tokens: `python -m cli.tokens [target] mint|list|revoke`.

Targets: `--stack-name NAME` (reads the TokensTableName output), `--table-name NAME`, or
`--local [URL]` (the local stack's admin endpoint, default http://127.0.0.1:3000). A minted token is
printed once and never stored: keep it.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from claude_events.tokens import SCOPES, TokenError, TokenStore

DEFAULT_LOCAL_URL = "http://127.0.0.1:3000"
LOCAL_ADMIN_PATH = "/_local/tokens"
COMMANDS = ("mint", "list", "revoke")


class Tokens(Protocol):
    def mint(self, name: str, scopes: list[str]) -> tuple[str, dict[str, Any]]: ...
    def records(self) -> list[dict[str, Any]]: ...
    def revoke(self, name_or_id: str) -> list[dict[str, Any]]: ...


class TableTokens:
    """Tokens in a DynamoDB table, through the caller's AWS credentials."""

    def __init__(self, table_name: str) -> None:
        self._store = TokenStore(boto3.client("dynamodb"), table_name)

    def mint(self, name: str, scopes: list[str]) -> tuple[str, dict[str, Any]]:
        token, record = self._store.mint(name, scopes)
        return token, record.public()

    def records(self) -> list[dict[str, Any]]:
        return [record.public() for record in self._store.all()]

    def revoke(self, name_or_id: str) -> list[dict[str, Any]]:
        return [record.public() for record in self._store.revoke(name_or_id)]


class LocalTokens:
    """Tokens of a running local stack, through its loopback-only admin endpoint."""

    def __init__(self, base_url: str) -> None:
        self._url = base_url.rstrip("/") + LOCAL_ADMIN_PATH

    def mint(self, name: str, scopes: list[str]) -> tuple[str, dict[str, Any]]:
        answer = self._call("POST", self._url, {"name": name, "scopes": scopes})
        return str(answer["token"]), dict(answer["record"])

    def records(self) -> list[dict[str, Any]]:
        return list(self._call("GET", self._url)["tokens"])

    def revoke(self, name_or_id: str) -> list[dict[str, Any]]:
        return list(self._call("POST", f"{self._url}/revoke", {"name": name_or_id})["revoked"])

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})  # noqa: S310 - loopback URL given by the operator
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                answer = _json_object(response.read())
        except urllib.error.HTTPError as error:
            detail = (_json_object(error.read()) or {}).get("message")
            raise TokenError(str(detail or f"the local stack answered {error.code} {error.reason}")) from None
        except urllib.error.URLError as error:
            raise TokenError(f"the local stack does not answer at {url}: {error.reason}") from None
        except OSError as error:  # reset or timed out mid-answer
            raise TokenError(f"the local stack at {url} failed to answer: {error}") from None
        if answer is None:
            raise TokenError(f"the local stack at {url} did not answer with a JSON object")
        return answer


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def stack_tokens_table(stack_name: str) -> str:
    stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    for output in stacks[0].get("Outputs", []):
        if output["OutputKey"] == "TokensTableName":
            return str(output["OutputValue"])
    raise TokenError(f"stack {stack_name} has no TokensTableName output")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m cli.tokens", description=__doc__.splitlines()[0])
    target = root.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack-name", help="a deployed stack")
    target.add_argument("--table-name", help="the tokens table itself")
    target.add_argument("--local", nargs="?", const=DEFAULT_LOCAL_URL, metavar="URL", help="the local stack")
    commands = root.add_subparsers(dest="command", required=True)
    mint = commands.add_parser("mint", help="make a token and print it (once)")
    mint.add_argument("name", help="who or what uses it; becomes source.token on its events")
    mint.add_argument("--scope", action="append", choices=SCOPES, dest="scopes", help="repeat for both; default both")
    commands.add_parser("list", help="every token's name, scopes and state (never the token)")
    revoke = commands.add_parser("revoke", help="revoke the live tokens of a name (or one id)")
    revoke.add_argument("name", help="token name or id")
    return root


def with_default_local_url(argv: list[str]) -> list[str]:
    """`--local` followed directly by a command means the default URL.

    argparse would otherwise take the command for the optional URL (`--local mint alice`).
    """
    arguments = list(argv)
    for index, argument in enumerate(arguments):
        if argument in COMMANDS:
            break
        if argument == "--local" and index + 1 < len(arguments) and arguments[index + 1] in COMMANDS:
            arguments.insert(index + 1, DEFAULT_LOCAL_URL)
            break
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(with_default_local_url(sys.argv[1:] if argv is None else argv))
    try:
        tokens: Tokens
        if arguments.local:
            tokens = LocalTokens(arguments.local)
        else:
            tokens = TableTokens(arguments.table_name or stack_tokens_table(arguments.stack_name))
        if arguments.command == "mint":
            token, record = tokens.mint(arguments.name, arguments.scopes or list(SCOPES))
            print(token)
            print(f"minted {record['name']} ({' + '.join(record['scopes'])}); it is shown only now", file=sys.stderr)
        elif arguments.command == "list":
            for record in tokens.records():
                state = "revoked" if record["revoked"] else "live"
                print(f"{record['name']}\t{record['id']}\t{','.join(record['scopes'])}\t{state}\t{record['createdAt']}")
        else:
            revoked = tokens.revoke(arguments.name)
            if not revoked:
                print(f"no live token named {arguments.name}", file=sys.stderr)
                return 1
            print(f"revoked {len(revoked)} token(s) named {arguments.name}", file=sys.stderr)
    except (TokenError, ClientError, BotoCoreError) as error:
        # ClientError/BotoCoreError: no such table or stack, no credentials, access denied.
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
