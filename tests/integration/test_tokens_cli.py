"""The tokens CLI: mint prints the token once (stdout, nothing else there), list never prints it.

Against a tokens table (moto), a deployed stack (its TokensTableName output, stubbed: moto's
CloudFormation needs extras the dev environment does not install) and the local stack's loopback
admin endpoint (a small fake of the contract in cli/tokens.py, backed by the same TokenStore).
Exit codes: 0 done, 1 nothing to revoke, 2 refused (bad input, unknown target, unreachable).
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import cli.tokens
from claude_events.tokens import TOKEN_PATTERN, TokenError, TokenStore, parse
from tests.support.auth import create_tokens_table


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.tokens.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_no_token_in(text: str, token: str) -> None:
    parts = parse(token)
    assert parts is not None
    assert token not in text
    assert parts[1] not in text


# --- a table -------------------------------------------------------------------------------


@pytest.fixture
def table(dynamodb) -> str:
    return create_tokens_table(dynamodb)


def test_mint_prints_the_token_alone_on_stdout(table, capsys, dynamodb):
    code, out, err = run(capsys, "--table-name", table, "mint", "alice")

    assert code == 0
    token = out.strip()
    assert out == token + "\n"
    assert TOKEN_PATTERN.fullmatch(token)
    assert "alice" in err
    assert "ingest + read" in err  # both scopes by default
    assert "only now" in err
    assert_no_token_in(err, token)
    # AND the token works
    principal = TokenStore(dynamodb, table).verify(token)
    assert principal is not None
    assert principal.scopes == {"ingest", "read"}


@pytest.mark.parametrize(
    ("flags", "scopes"),
    [
        (["--scope", "ingest"], {"ingest"}),
        (["--scope", "read"], {"read"}),
        (["--scope", "read", "--scope", "ingest"], {"ingest", "read"}),
    ],
)
def test_mint_with_scopes(table, capsys, dynamodb, flags, scopes):
    code, out, _ = run(capsys, "--table-name", table, "mint", "ci", *flags)

    assert code == 0
    principal = TokenStore(dynamodb, table).verify(out.strip())
    assert principal is not None
    assert principal.scopes == scopes
    assert principal.name == "ci"


def test_list_never_prints_a_token(table, capsys):
    _, alice, _ = run(capsys, "--table-name", table, "mint", "alice", "--scope", "read")
    _, ci, _ = run(capsys, "--table-name", table, "mint", "ci", "--scope", "ingest")
    run(capsys, "--table-name", table, "revoke", "ci")

    code, out, err = run(capsys, "--table-name", table, "list")

    assert code == 0
    rows = sorted(line.split("\t") for line in out.splitlines())
    assert [(row[0], row[2], row[3]) for row in rows] == [("alice", "read", "live"), ("ci", "ingest", "revoked")]
    for row in rows:
        assert len(row) == 5
        datetime.fromisoformat(row[4].replace("Z", "+00:00")).astimezone(UTC)
    assert rows[0][1] == parse(alice.strip())[0]  # type: ignore[index]
    for token in (alice.strip(), ci.strip()):
        assert_no_token_in(out + err, token)


def test_list_of_an_empty_table_prints_nothing(table, capsys):
    assert run(capsys, "--table-name", table, "list") == (0, "", "")


def test_revoke_by_name_and_by_id(table, capsys, dynamodb):
    store = TokenStore(dynamodb, table)
    _, alice, _ = run(capsys, "--table-name", table, "mint", "alice")
    _, bob, _ = run(capsys, "--table-name", table, "mint", "bob")
    bob_id = parse(bob.strip())[0]  # type: ignore[index]

    by_name = run(capsys, "--table-name", table, "revoke", "alice")
    by_id = run(capsys, "--table-name", table, "revoke", bob_id)

    assert by_name[0] == 0
    assert "revoked 1" in by_name[2]
    assert by_id[0] == 0
    assert store.verify(alice.strip()) is None
    assert store.verify(bob.strip()) is None


def test_revoking_nothing_exits_1(table, capsys):
    run(capsys, "--table-name", table, "mint", "alice")
    run(capsys, "--table-name", table, "revoke", "alice")

    code, out, err = run(capsys, "--table-name", table, "revoke", "alice")

    assert code == 1
    assert out == ""
    assert "no live token named alice" in err
    assert run(capsys, "--table-name", table, "revoke", "nobody")[0] == 1


def test_second_live_token_of_a_name_exits_2_and_prints_no_token(table, capsys):
    run(capsys, "--table-name", table, "mint", "alice")

    code, out, err = run(capsys, "--table-name", table, "mint", "alice")

    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert "alice" in err


def test_a_revoked_name_can_be_minted_again(table, capsys, dynamodb):
    run(capsys, "--table-name", table, "mint", "alice")
    run(capsys, "--table-name", table, "revoke", "alice")

    code, out, _ = run(capsys, "--table-name", table, "mint", "alice")

    assert code == 0
    assert TokenStore(dynamodb, table).verify(out.strip()) is not None


@pytest.mark.parametrize("name", ["bad name", ".x", "x" * 65, "a/b"])
def test_bad_name_exits_2(table, capsys, name):
    code, out, err = run(capsys, "--table-name", table, "mint", name)

    assert code == 2
    assert out == ""
    assert "error: name" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["list"],  # no target
        ["--table-name", "t"],  # no command
        ["--table-name", "t", "mint"],  # no name
        ["--table-name", "t", "mint", "alice", "--scope", "admin"],
        ["--table-name", "t", "--stack-name", "s", "list"],  # two targets
        ["--table-name", "t", "delete", "alice"],
    ],
)
def test_bad_usage_exits_2(capsys, argv):
    with pytest.raises(SystemExit) as exited:
        cli.tokens.main(argv)

    assert exited.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_missing_table_exits_2_with_a_message(dynamodb, capsys):
    code, out, err = run(capsys, "--table-name", "no-such-table", "list")

    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert "Traceback" not in err


# --- a deployed stack ----------------------------------------------------------------------


@pytest.fixture
def stacks(monkeypatch) -> Iterator[Stubber]:
    """CloudFormation answering from a Stubber; every other client is the real (moto) one."""
    real_client: Any = boto3.client
    cloudformation = real_client("cloudformation")
    stubber = Stubber(cloudformation)

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        return cloudformation if service == "cloudformation" else real_client(service, *args, **kwargs)

    monkeypatch.setattr("cli.tokens.boto3.client", client)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def stack(outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": "claude-events",
                "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
            }
        ]
    }


def test_stack_name_reads_the_tokens_table_output(table, stacks, capsys, dynamodb):
    outputs = {"ApiUrl": "https://x.execute-api.us-east-1.amazonaws.com/v1", "TokensTableName": table}
    stacks.add_response("describe_stacks", stack(outputs), {"StackName": "claude-events"})
    stacks.add_response("describe_stacks", stack(outputs), {"StackName": "claude-events"})

    minted = run(capsys, "--stack-name", "claude-events", "mint", "alice", "--scope", "ingest")
    listed = run(capsys, "--stack-name", "claude-events", "list")

    assert minted[0] == 0
    assert TokenStore(dynamodb, table).verify(minted[1].strip()) is not None
    assert listed[0] == 0
    assert listed[1].startswith("alice\t")
    assert_no_token_in(listed[1], minted[1].strip())


def test_stack_without_the_output_exits_2(table, stacks, capsys):
    stacks.add_response("describe_stacks", stack({"ApiUrl": "https://x"}), {"StackName": "old-stack"})

    code, out, err = run(capsys, "--stack-name", "old-stack", "list")

    assert code == 2
    assert out == ""
    assert "TokensTableName" in err


def test_unknown_stack_exits_2_with_a_message(stacks, capsys):
    stacks.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message="Stack with id nope does not exist",
        http_status_code=400,
        expected_params={"StackName": "nope"},
    )

    code, out, err = run(capsys, "--stack-name", "nope", "list")

    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert "nope does not exist" in err


# --- the local stack's admin endpoint ------------------------------------------------------


class FakeAdmin(BaseHTTPRequestHandler):
    """The local stack's /_local/tokens contract, as cli/tokens.py's LocalTokens speaks it."""

    store: TokenStore
    requests: list[tuple[str, str, Any]]
    broken: bool = False

    def do_GET(self) -> None:
        self._record(None)
        if self.path != cli.tokens.LOCAL_ADMIN_PATH:
            return self._answer(404, {"message": "not found"})
        return self._answer(200, {"tokens": [record.public() for record in self.store.all()]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"null")
        self._record(body)
        if self.broken:
            return self._answer(502, b"<html>Bad Gateway</html>")
        try:
            if self.path == cli.tokens.LOCAL_ADMIN_PATH:
                token, record = self.store.mint(body["name"], body["scopes"])
                return self._answer(201, {"token": token, "record": record.public()})
            if self.path == f"{cli.tokens.LOCAL_ADMIN_PATH}/revoke":
                revoked = self.store.revoke(body["name"])
                return self._answer(200, {"revoked": [record.public() for record in revoked]})
        except TokenError as error:
            return self._answer(409 if "exists" in str(error) else 400, {"message": str(error)})
        return self._answer(404, {"message": "not found"})

    def _record(self, body: Any) -> None:
        self.requests.append((self.command, self.path, body))

    def _answer(self, status: int, body: dict[str, Any] | bytes) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json" if isinstance(body, dict) else "text/html")
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def admin(dynamodb) -> Iterator[tuple[str, type[FakeAdmin]]]:
    handler = type(
        "Admin", (FakeAdmin,), {"store": TokenStore(dynamodb, create_tokens_table(dynamodb)), "requests": []}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_local_mint_list_revoke(admin, capsys):
    url, handler = admin

    minted = run(capsys, "--local", url, "mint", "alice", "--scope", "read")
    listed = run(capsys, "--local", url, "list")
    revoked = run(capsys, "--local", url, "revoke", "alice")
    again = run(capsys, "--local", url, "revoke", "alice")

    token = minted[1].strip()
    assert minted[0] == 0
    assert TOKEN_PATTERN.fullmatch(token)
    assert "alice (read)" in minted[2]
    assert listed[0] == 0
    assert listed[1].startswith("alice\t")
    assert listed[1].rstrip("\n").split("\t")[3] == "live"
    assert_no_token_in(listed[1] + listed[2], token)
    assert revoked[0] == 0
    assert again[0] == 1
    assert handler.store.verify(token) is None
    path = cli.tokens.LOCAL_ADMIN_PATH
    assert handler.requests == [
        ("POST", path, {"name": "alice", "scopes": ["read"]}),
        ("GET", path, None),
        ("POST", f"{path}/revoke", {"name": "alice"}),
        ("POST", f"{path}/revoke", {"name": "alice"}),
    ]


def test_local_url_with_a_trailing_slash(admin, capsys):
    url, handler = admin

    assert run(capsys, "--local", url + "/", "list")[0] == 0
    assert handler.requests == [("GET", cli.tokens.LOCAL_ADMIN_PATH, None)]


@pytest.mark.parametrize(("command", "expected"), [(["mint", "alice"], 0), (["list"], 0), (["revoke", "alice"], 1)])
def test_bare_local_uses_the_default_url(admin, capsys, monkeypatch, command, expected):
    # `make tokens ARGS='--local mint alice'`: --local with no URL before the command.
    url, handler = admin
    monkeypatch.setattr(cli.tokens, "DEFAULT_LOCAL_URL", url)

    code, _, err = run(capsys, "--local", *command)

    assert code == expected, err
    assert [(method, path) for method, path, _ in handler.requests] == [
        (
            "GET" if command == ["list"] else "POST",
            cli.tokens.LOCAL_ADMIN_PATH + ("/revoke" if command[0] == "revoke" else ""),
        )
    ]


def test_local_refusal_is_reported_with_its_message(admin, capsys):
    url, _ = admin
    run(capsys, "--local", url, "mint", "alice")

    code, out, err = run(capsys, "--local", url, "mint", "alice")

    assert code == 2
    assert out == ""
    assert "error: a live token named 'alice' exists" in err


def test_local_answer_that_is_not_json_exits_2(admin, capsys):
    url, handler = admin
    handler.broken = True

    code, out, err = run(capsys, "--local", url, "mint", "alice")

    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert "Traceback" not in err


def test_local_stack_not_running_exits_2(capsys):
    with ThreadingHTTPServer(("127.0.0.1", 0), FakeAdmin) as closed:
        port = closed.server_address[1]  # bound, then closed: nothing listens there

    code, out, err = run(capsys, "--local", f"http://127.0.0.1:{port}", "list")

    assert code == 2
    assert out == ""
    assert "does not answer" in err


def test_commands_known_to_the_local_url_default_are_the_parser_commands():
    (subparsers,) = [a for a in cli.tokens.parser()._actions if isinstance(a, argparse._SubParsersAction)]

    assert set(cli.tokens.COMMANDS) == set(subparsers.choices)


@pytest.mark.parametrize(
    ("argv", "local", "command"),
    [
        (["--local", "list"], cli.tokens.DEFAULT_LOCAL_URL, "list"),
        (["--local", "http://127.0.0.1:9999", "list"], "http://127.0.0.1:9999", "list"),
        (["--local=http://127.0.0.1:9999", "list"], "http://127.0.0.1:9999", "list"),
        (["--local", "revoke", "list"], cli.tokens.DEFAULT_LOCAL_URL, "revoke"),  # a token named "list"
        (["--table-name", "mint", "list"], None, "list"),  # a table named "mint"
    ],
)
def test_local_url_parsing(argv, local, command):
    arguments = cli.tokens.parser().parse_args(cli.tokens.with_default_local_url(argv))

    assert arguments.local == local
    assert arguments.command == command
