"""Every events/*.json fixture (for `sam local invoke -e`) is answered by its real function, on moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claude_events import dependencies
from claude_events.tokens import digest
from local.lambda_runtime import LambdaContext
from tests.support.auth import create_tokens_table, use_tokens_table
from tests.support.handlers import function_module
from tests.support.websocket import FakeLambdaClient

FIXTURES = Path(__file__).resolve().parents[2] / "events"
# The token the authorizer fixtures carry: id Xk3vQ9mZ2pLw, secret "A" * 43, scope read.
TOKEN_ID, TOKEN_SECRET = "Xk3vQ9mZ2pLw", "A" * 43


@pytest.fixture
def aws(dynamodb, events_table, connections_table, monkeypatch):
    table = create_tokens_table(dynamodb)
    dynamodb.put_item(
        TableName=table,
        Item={
            "tokenId": {"S": TOKEN_ID},
            "secretHash": {"B": digest(TOKEN_SECRET)},
            "name": {"S": "dashboard"},
            "scopes": {"SS": ["read"]},
            "revoked": {"BOOL": False},
            "createdAt": {"S": "2026-01-26T10:00:00.000Z"},
        },
    )
    use_tokens_table(monkeypatch, table)
    replays = FakeLambdaClient()
    monkeypatch.setattr(dependencies, "lambda_client", lambda: replays)
    return replays


def invoke(function: str, fixture: str) -> Any:
    event = json.loads((FIXTURES / fixture).read_text())
    return function_module(function).lambda_handler(event, LambdaContext(function_name=function))


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("function", "fixture", "status"),
    [
        ("ingest", "ingest-post.json", 201),
        ("query", "query-get.json", 200),
        ("query", "query-health.json", 200),
        ("dashboard", "dashboard-get.json", 200),
        ("ws_connect", "ws-connect-connect.json", 200),
        ("ws_connect", "ws-connect-history.json", 200),
        ("ws_connect", "ws-connect-disconnect.json", 200),
    ],
)
def test_api_fixture_is_answered(function: str, fixture: str, status: int):
    # GIVEN a fixture as `sam local invoke -e` passes it / WHEN the function handles it
    answer = invoke(function, fixture)

    # THEN it answers as API Gateway expects
    assert answer["statusCode"] == status, answer.get("body")


def test_connect_fixture_starts_the_history_replay(aws):
    invoke("ws_connect", "ws-connect-connect.json")

    (call,) = aws.calls
    assert call["InvocationType"] == "Event"


@pytest.mark.usefixtures("aws")
def test_authorizer_fixtures_allow_the_read_token():
    http = invoke("authorizer", "authorizer-http.json")
    websocket = invoke("authorizer", "authorizer-websocket.json")

    assert http["isAuthorized"] is True
    assert http["context"]["tokenName"] == "dashboard"
    assert websocket["policyDocument"]["Statement"][0]["Effect"] == "Allow"


@pytest.mark.usefixtures("aws")
def test_stream_fixture_is_broadcast_without_failures():
    assert invoke("ws_broadcast", "ws-broadcast-stream.json") == {"batchItemFailures": []}
