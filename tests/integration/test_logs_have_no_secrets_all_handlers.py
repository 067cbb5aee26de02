"""No function logs a token, an Authorization header, a prompt or a tool payload: not at DEBUG either.

Extends tests/integration/test_logs_have_no_secrets.py (ingest, query) to the authorizer, ws_connect
($connect with the token in its query string, actions, the asynchronous history replay) and
ws_broadcast (stream records of events full of secrets), with the same capture: every logger at
DEBUG, everything written to stdout, stderr and the logging module searched for the markers.
Each test also checks the secrets did flow through (answered, posted), so a clean log means
something.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from claude_events import settings, websocket
from claude_events.delivery import Poster
from claude_events.tokens import TokenStore, parse
from claude_events.websocket import LambdaReplayStarter
from local.lambda_runtime import LambdaContext
from local.streams import lambda_stream_event
from local.template import create_table_arguments
from tests.support.auth import (
    WEBSOCKET_API_ID,
    create_tokens_table,
    forget_services,
    http_authorizer_event,
    use_tokens_table,
    websocket_authorizer_event,
)
from tests.support.handlers import function_module, post_events
from tests.support.logs import Written, capture_everything

RUN = uuid.uuid4().hex
PROMPT = f"prompt-marker-{RUN}"
TOOL_INPUT = f"tool-input-marker-{RUN}"
TOOL_RESPONSE = f"tool-response-marker-{RUN}"
PAYLOAD_MARKERS = (PROMPT, TOOL_INPUT, TOOL_RESPONSE)
SESSION = f"log-secrets-{RUN[:8]}"
CONNECTIONS_TABLE = "claude-events-connections-test"
MANAGEMENT_URL = f"https://{WEBSOCKET_API_ID}.execute-api.us-east-1.amazonaws.com/v1"


# --- capture (as in test_logs_have_no_secrets.py) ----------------------------------------------


@pytest.fixture
def written(capsys, caplog, monkeypatch) -> Written:
    return capture_everything(capsys, caplog, monkeypatch)


def assert_absent(text: str, secrets: tuple[str, ...]) -> None:
    for secret in secrets:
        assert secret not in text, f"{secret!r} was logged:\n" + _around(text, secret)


def _around(text: str, marker: str) -> str:
    at = text.index(marker)
    return text[max(0, at - 600) : at + 200]


# --- the stack: tables, tokens, a fake Lambda for the replay, a spy on posts -------------------


class FakeLambda:
    """Lambda's Invoke, asynchronous only: keeps each payload for the test to run as the replay."""

    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        assert InvocationType == "Event"
        self.invocations.append({"function": FunctionName, "payload": json.loads(Payload)})
        return {"StatusCode": 202}


@dataclass
class Stack:
    store: TokenStore
    tokens: dict[str, str]
    lambdas: FakeLambda
    posted: list[tuple[str, bytes]] = field(default_factory=list)

    def secrets(self) -> tuple[str, ...]:
        """Every token, its secret part and its Authorization header value."""
        found: list[str] = []
        for token in self.tokens.values():
            parts = parse(token)
            found += [token, f"Bearer {token}"]
            if parts is not None:
                found.append(parts[1])
        return tuple(found)

    def posted_text(self) -> str:
        return "\n".join(data.decode() for _, data in self.posted)


@pytest.fixture
def stack(dynamodb, events_table, monkeypatch) -> Iterator[Stack]:
    dynamodb.create_table(**create_table_arguments("ConnectionsTable", CONNECTIONS_TABLE))
    store = TokenStore(dynamodb, create_tokens_table(dynamodb))
    tokens = {
        "ingest": store.mint("laptop-alice", ["ingest"])[0],
        "read": store.mint("dashboard", ["read"])[0],
        "revoked": store.mint("old-laptop", ["ingest", "read"])[0],
    }
    store.revoke("old-laptop")
    unknown = parse(tokens["read"])
    assert unknown is not None
    tokens["unknown"] = f"ce_{'Nobody-00000'}_{unknown[1][::-1]}"
    lambdas = FakeLambda()
    # The replay starter, real, over a fake Lambda client (websocket_service imports it on each build).
    monkeypatch.setattr(websocket, "LambdaReplayStarter", lambda _client: LambdaReplayStarter(lambdas))
    monkeypatch.setenv("CONNECTIONS_TABLE_NAME", CONNECTIONS_TABLE)
    monkeypatch.setenv("WEBSOCKET_MANAGEMENT_URL", MANAGEMENT_URL)
    use_tokens_table(monkeypatch)
    assert settings.websocket_settings().management_url == MANAGEMENT_URL
    result = Stack(store, tokens, lambdas)
    real_post = Poster.post

    def spying_post(self: Poster, connection_id: str, data: bytes) -> Any:
        result.posted.append((connection_id, data))
        return real_post(self, connection_id, data)

    monkeypatch.setattr(Poster, "post", spying_post)
    yield result
    forget_services()


def secret_event(**fields: Any) -> dict[str, Any]:
    return {
        "session_id": SESSION,
        "hook_event_name": "PostToolUse",
        "cwd": "/home/me/src/shop",
        "prompt": f"please deploy with {PROMPT}",
        "tool_name": "Bash",
        "tool_input": {"command": f"curl -H 'X-Api-Key: {TOOL_INPUT}' https://example.com"},
        "tool_response": {"stdout": f"token={TOOL_RESPONSE}", "stderr": "", "interrupted": False},
        **fields,
    }


def ingest(stack: Stack, *events: dict[str, Any]) -> None:
    answer = post_events(
        list(events),
        headers={"Authorization": f"Bearer {stack.tokens['ingest']}"},
        authorizer={"lambda": {"tokenName": "laptop-alice", "tokenId": "x", "scopes": "ingest"}},
    )
    assert answer.status == 201, answer.body


def invoke(function: str, event: dict[str, Any]) -> Any:
    return function_module(function).lambda_handler(event, LambdaContext(function_name=function))


# --- the authorizer --------------------------------------------------------------------------


def test_authorizer_logs_no_token(stack, written):
    # GIVEN every kind of presented token, over both APIs
    tokens = stack.tokens
    outcomes: list[str] = []
    cases: list[tuple[str, str | None, dict[str, Any]]] = []
    for name in ("ingest", "read", "revoked", "unknown"):
        for route in ("POST /api/claude-events", "GET /api/claude-events", "GET /api/openapi.json"):
            cases.append((name, route, http_authorizer_event(route, {"Authorization": f"Bearer {tokens[name]}"})))
        cases.append((name, "$connect", websocket_authorizer_event({"token": tokens[name], "sessionId": SESSION})))
    cases.append(
        (
            "malformed",
            "GET /api/claude-events",
            http_authorizer_event("GET /api/claude-events", {"Authorization": f"Basic {tokens['read']}"}),
        )
    )
    cases.append(("malformed", "$connect", websocket_authorizer_event({"token": f"Bearer {tokens['read']}"})))

    # WHEN the authorizer decides each
    for _, _, event in cases:
        try:
            answer = invoke("authorizer", event)
        except Exception as error:
            outcomes.append(str(error))
        else:
            allowed = answer.get("isAuthorized")
            if allowed is None:
                allowed = answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
            outcomes.append("allowed" if allowed else "forbidden")

    # THEN every outcome happened: allowed, forbidden (wrong scope) and Unauthorized
    assert {"allowed", "forbidden", "Unauthorized"} <= set(outcomes)
    assert outcomes.count("Unauthorized") == 10  # revoked, unknown (4 routes each), 2 malformed
    # AND the logs say what happened, naming the token but never showing it
    text = written.text()
    assert "token checked" in text
    assert "token refused" in text
    assert "laptop-alice" in text
    assert_absent(text, stack.secrets())


# --- ws_connect --------------------------------------------------------------------------------


def websocket_event(route_key: str, connection_id: str, body: str | None = None, **extra: Any) -> dict[str, Any]:
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "messageDirection": "IN",
            "stage": "v1",
            "connectedAt": 1_767_225_600_000,
            "requestTimeEpoch": 1_767_225_600_100,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"},
            "requestId": uuid.uuid4().hex[:16],
            "extendedRequestId": uuid.uuid4().hex[:16],
            "domainName": f"{WEBSOCKET_API_ID}.execute-api.us-east-1.amazonaws.com",
            "connectionId": connection_id,
            "apiId": WEBSOCKET_API_ID,
        },
        "isBase64Encoded": False,
        **extra,
    }
    if body is not None:
        event["body"] = body
        event["requestContext"]["messageId"] = uuid.uuid4().hex[:16]
    return event


def connect_event(stack: Stack, connection_id: str, query: dict[str, str]) -> dict[str, Any]:
    token = stack.tokens["read"]
    token_id = parse(token)[0]  # type: ignore[index]
    parameters = {"token": token, **query}
    event = websocket_event(
        "$connect",
        connection_id,
        headers={"Host": f"{WEBSOCKET_API_ID}.execute-api.us-east-1.amazonaws.com", "Origin": "https://dash"},
        queryStringParameters=parameters,
        multiValueQueryStringParameters={name: [value] for name, value in parameters.items()},
    )
    event["requestContext"]["authorizer"] = {
        "principalId": token_id,
        "tokenName": "dashboard",
        "tokenId": token_id,
        "scopes": "read",
        "integrationLatency": 12,
    }
    return event


def test_ws_connect_logs_no_token_or_payload(stack, written):
    # GIVEN stored events full of secrets
    ingest(stack, secret_event(), secret_event(hook_event_name="UserPromptSubmit", tool_name=None))
    written.text()  # ingest's own logs are the other file's concern; start clean

    # WHEN a dashboard connects with its token in the query string
    connected = invoke("ws_connect", connect_event(stack, "conn-1=", {"sessionId": SESSION}))
    # AND the asynchronous replay posts its history
    (invocation,) = stack.lambdas.invocations
    assert "token" not in json.dumps(invocation["payload"])
    replayed = invoke("ws_connect", invocation["payload"])
    # AND it asks for history, subscribes, sends rubbish holding secrets, and leaves
    token = stack.tokens["read"]
    messages = [
        json.dumps({"action": "history", "sessionId": SESSION, "limit": 10}),
        json.dumps({"action": "history"}),
        json.dumps({"action": "subscribe", "sessionId": SESSION, "events": ["PostToolUse"]}),
        json.dumps({"action": token, "prompt": PROMPT}),
        json.dumps({"action": "history", "sessionId": f"bad session {TOOL_INPUT}"}),
        json.dumps({"action": "subscribe", "token": token, "tool_input": TOOL_INPUT}),
        f"not json {PROMPT} {token}",
    ]
    for message in messages:
        route = json.loads(message)["action"] if message.startswith("{") else "$default"
        route = route if route in ("history", "subscribe") else "$default"
        assert invoke("ws_connect", websocket_event(route, "conn-1=", body=message)) == {"statusCode": 200}
    stored = repr(boto3.client("dynamodb").scan(TableName=CONNECTIONS_TABLE)["Items"])
    left = invoke("ws_connect", websocket_event("$disconnect", "conn-1="))

    # THEN all went through: history with the secrets was posted to the connection
    assert connected == {"statusCode": 200}
    assert replayed == {"outcome": "sent"}
    assert left == {"statusCode": 200}
    posted = stack.posted_text()
    assert PROMPT in posted
    assert TOOL_RESPONSE in posted
    assert "claude:subscribed" in posted
    assert "claude:error" in posted
    # AND the connection record kept the token's name, never the token
    assert "dashboard" in stored
    assert_absent(stored, stack.secrets())
    # AND nothing logged holds a token or a payload
    text = written.text()
    assert "message handled" in text
    assert_absent(text, stack.secrets() + PAYLOAD_MARKERS)


def test_refused_connection_logs_no_token(stack, written):
    # WHEN a connect with a bad filter (and secrets in the query string) is refused
    answer = invoke(
        "ws_connect",
        connect_event(stack, "conn-2=", {"sessionId": f"bad id {PROMPT}", "events": f"{TOOL_INPUT},,"}),
    )

    # THEN it is refused, no replay starts, and nothing secret is logged
    assert answer["statusCode"] == 400
    assert not stack.lambdas.invocations
    text = written.text()
    assert "connection refused" in text
    assert_absent(text, stack.secrets() + PAYLOAD_MARKERS)


# --- ws_broadcast ------------------------------------------------------------------------------


def stream_event(dynamodb: Any, table: str) -> dict[str, Any]:
    """Every record of the table's stream so far, as Lambda hands them to the function."""
    streams = boto3.client("dynamodbstreams")
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    return lambda_stream_event(records, arn)


def test_ws_broadcast_logs_no_payload(stack, written, dynamodb, events_table):
    # GIVEN two dashboards connected (one for this session, one for everything) and new events
    invoke("ws_connect", connect_event(stack, "conn-a=", {"sessionId": SESSION}))
    invoke("ws_connect", connect_event(stack, "conn-b=", {}))
    ingest(stack, secret_event(), secret_event(eventId="second"), secret_event(hook_event_name="PreToolUse"))
    event = stream_event(dynamodb, events_table)
    inserts = [record for record in event["Records"] if record["eventName"] == "INSERT"]
    assert len(inserts) == 3
    written.text()
    stack.posted.clear()

    # WHEN the stream batch is broadcast
    answer = invoke("ws_broadcast", event)

    # THEN both connections got the events, secrets and all
    assert answer == {"batchItemFailures": []}
    assert {connection for connection, _ in stack.posted} == {"conn-a=", "conn-b="}
    posted = stack.posted_text()
    assert PROMPT in posted
    assert TOOL_INPUT in posted
    assert TOOL_RESPONSE in posted
    # AND the logs hold none of them
    text = written.text()
    assert '"message":"broadcast"' in text
    assert_absent(text, stack.secrets() + PAYLOAD_MARKERS)


def test_ws_broadcast_poison_record_logs_no_payload(stack, written, dynamodb, events_table):
    # GIVEN a batch with a record whose stored document cannot be read (its text holds secrets)
    invoke("ws_connect", connect_event(stack, "conn-a=", {}))
    ingest(stack, secret_event())
    event = stream_event(dynamodb, events_table)
    (good,) = [record for record in event["Records"] if record["eventName"] == "INSERT"]
    poison = json.loads(json.dumps(good))
    poison["dynamodb"]["SequenceNumber"] = "999999999999999999999"
    image = poison["dynamodb"]["NewImage"]
    image.pop("docz", None)
    image["doc"] = {"S": f"{{not json {PROMPT} {TOOL_INPUT}"}
    event["Records"].append(poison)
    written.text()

    # WHEN it is broadcast
    answer = invoke("ws_broadcast", event)

    # THEN the poison record is reported failed, the good one delivered, and no secret logged
    assert answer == {"batchItemFailures": [{"itemIdentifier": "999999999999999999999"}]}
    assert PROMPT in stack.posted_text()
    assert_absent(written.text(), stack.secrets() + PAYLOAD_MARKERS)


def test_ws_broadcast_fanout_failure_logs_no_payload(stack, written, dynamodb, events_table, monkeypatch):
    # GIVEN connections that cannot be read at all
    invoke("ws_connect", connect_event(stack, "conn-a=", {}))
    ingest(stack, secret_event())
    event = stream_event(dynamodb, events_table)
    written.text()

    from claude_events.connections import ConnectionStore

    def failing_all(self: ConnectionStore) -> Iterator[Any]:
        raise RuntimeError("scan failed")
        yield  # pragma: no cover

    monkeypatch.setattr(ConnectionStore, "all", failing_all)

    # WHEN the batch is broadcast
    answer = invoke("ws_broadcast", event)

    # THEN every record is retried, and the failure is logged without its message
    assert len(answer["batchItemFailures"]) == len([r for r in event["Records"] if r["eventName"] == "INSERT"])
    text = written.text()
    assert "fan-out failed" in text
    assert "RuntimeError" in text  # the traceback was logged
    assert_absent(text, stack.secrets() + PAYLOAD_MARKERS)


def _without_size(record: dict[str, Any]) -> None:
    del record["dynamodb"]["SizeBytes"]


def _without_view_type(record: dict[str, Any]) -> None:
    # The image is then the last thing in the refused value pydantic quotes
    del record["dynamodb"]["StreamViewType"]


def _bad_event_name(record: dict[str, Any]) -> None:
    record["eventName"] = "UPSERT"


@pytest.mark.parametrize("spoil", [_without_size, _without_view_type, _bad_event_name])
def test_ws_broadcast_record_the_stream_model_refuses_logs_no_payload(stack, written, dynamodb, events_table, spoil):
    # GIVEN a batch with a record Powertools' stream model refuses (a poison pill), holding secrets
    invoke("ws_connect", connect_event(stack, "conn-a=", {}))
    ingest(stack, secret_event())
    event = stream_event(dynamodb, events_table)
    (good,) = [record for record in event["Records"] if record["eventName"] == "INSERT"]
    poison = json.loads(json.dumps(good))
    poison["dynamodb"]["SequenceNumber"] = "999999999999999999999"
    poison["dynamodb"]["NewImage"]["prompt"] = {"S": PROMPT}
    poison["dynamodb"]["NewImage"]["tool_input"] = {"S": TOOL_INPUT}
    spoil(poison)
    event["Records"].append(poison)
    written.text()

    # WHEN it is broadcast
    answer = invoke("ws_broadcast", event)

    # THEN the poison record is reported failed, and no secret is logged, even at DEBUG
    assert {"itemIdentifier": "999999999999999999999"} in answer["batchItemFailures"]
    assert_absent(written.text(), stack.secrets() + PAYLOAD_MARKERS)


# --- what the template lets through --------------------------------------------------------------


def test_template_never_logs_or_traces_events_and_responses():
    from local.template import load, resources_of_type

    template = load()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"
    for name, function in resources_of_type("AWS::Serverless::Function").items():
        own = ((function["Properties"].get("Environment") or {}).get("Variables")) or {}
        for setting in ("POWERTOOLS_LOGGER_LOG_EVENT", "POWERTOOLS_TRACER_CAPTURE_RESPONSE"):
            assert own.get(setting, "false") == "false", f"{name} sets {setting}"


def test_access_logs_hold_no_headers_query_strings_or_bodies():
    from local.template import load

    resources = load()["Resources"]
    formats = {
        "HttpApi": resources["HttpApi"]["Properties"]["AccessLogSettings"]["Format"],
        "WebSocketStage": resources["WebSocketStage"]["Properties"]["AccessLogSettings"]["Format"],
    }
    for name, text in formats.items():
        for forbidden in ("$request", "header", "querystring", "$input", "authorizer.", "$context.identity.apiKey"):
            assert forbidden not in text, f"{name} access log holds {forbidden}"
