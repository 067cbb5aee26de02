"""ws_connect through its real handler on moto's DynamoDB: $connect, the history replay, the client's actions.

The @connections client and the Lambda client are fakes (moto's post_to_connection never answers
410 and records no message boundaries); the tests marked "deployed wiring" use the services as
dependencies.py builds them, on moto alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from claude_events.connections import ConnectionStore
from claude_events.cursor import CursorCodec
from claude_events.delivery import Poster
from claude_events.history import HistoryService
from claude_events.messages import MAX_MESSAGE_BYTES
from claude_events.repository import DynamoEventStore
from claude_events.settings import websocket_settings
from claude_events.websocket import REPLAY_KEY, LambdaReplayStarter, WebSocketService
from local.lambda_runtime import LambdaContext
from tests.support.handlers import function_module, get_events, post_events
from tests.support.websocket import (
    FakeClock,
    FakeLambdaClient,
    FakeManagementClient,
    Timer,
    gone,
    moto_messages,
    ws_event,
)

pytestmark = pytest.mark.usefixtures("events_table", "connections_table")

CONNECTIONS = os.environ["CONNECTIONS_TABLE_NAME"]
KB = 1024


@pytest.fixture
def ws() -> Any:
    return function_module("ws_connect")


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext(function_name="claude-events-ws-connect")


@pytest.fixture
def management() -> FakeManagementClient:
    return FakeManagementClient()


@pytest.fixture
def lambda_client() -> FakeLambdaClient:
    return FakeLambdaClient()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fakes(management, lambda_client, clock) -> tuple[FakeManagementClient, FakeLambdaClient, FakeClock]:
    return management, lambda_client, clock


@pytest.fixture
def service(dynamodb, ws, fakes, monkeypatch) -> WebSocketService:
    """The service as dependencies.py wires it, but with fake @connections and Lambda clients and clock."""
    management, lambda_client, clock = fakes
    settings = websocket_settings()
    store = DynamoEventStore(dynamodb, settings.events_table, settings.shard_count)
    built = WebSocketService(
        connections=ConnectionStore(dynamodb, settings.connections_table),
        history=HistoryService(store, CursorCodec(settings.cursor_key.encode())),
        poster=Poster(management, sleep=clock.sleep, clock=clock),
        start_replay=LambdaReplayStarter(lambda_client),
        history_limit=settings.history_limit,
        replay_deadline_seconds=settings.replay_deadline_seconds,
        clock=clock,
    )
    monkeypatch.setattr(ws, "websocket_service", lambda: built)
    return built


@pytest.fixture
def call(ws, context) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        return ws.lambda_handler(event, context)  # type: ignore[no-any-return]

    return invoke


def connect(call, connection_id: str = "conn-1", **query: str) -> dict[str, Any]:
    return call(ws_event("$connect", connection_id, query=query, authorizer={"tokenName": "alice-laptop"}))  # type: ignore[no-any-return]


def send(call, connection_id: str, body: Any) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    route = body.get("action", "$default") if isinstance(body, dict) else "$default"
    if route not in ("history", "subscribe"):
        route = "$default"
    return call(ws_event(route, connection_id, body=text))  # type: ignore[no-any-return]


def record(dynamodb, connection_id: str) -> dict[str, Any] | None:
    return dynamodb.get_item(TableName=CONNECTIONS, Key={"connectionId": {"S": connection_id}}).get("Item")  # type: ignore[no-any-return]


def stored_connections(dynamodb) -> list[str]:
    return sorted(item["connectionId"]["S"] for item in dynamodb.scan(TableName=CONNECTIONS)["Items"])


def seed(
    count: int, *, session: str = "s1", name: str = "PreToolUse", data_bytes: int = 0, start: int = 0
) -> list[str]:
    """Store `count` events a second apart from `start` seconds past an hour ago; their eventIds, oldest first."""
    base = datetime.now(UTC) - timedelta(hours=1) + timedelta(seconds=start)
    batch: list[dict[str, Any]] = [
        {
            "eventId": f"ev-{session}-{name}-{start + index:05d}",
            "timestamp": (base + timedelta(seconds=index)).isoformat().replace("+00:00", "Z"),
            "event": name,
            "sessionId": session,
            "data": {"tool_name": "Bash", "tool_response": {"stdout": "x" * data_bytes}},
        }
        for index in range(count)
    ]
    for chunk in range(0, count, 20):
        created = post_events({"events": batch[chunk : chunk + 20]})
        assert created.status == 201, created.body
    return [event["eventId"] for event in batch]


def event_ids(messages: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for message in messages:
        found.extend(item["eventId"] for item in message["events"])
    return found


def replay_event(lambda_client: FakeLambdaClient) -> dict[str, Any]:
    """The event the asynchronous invocation delivers: what $connect handed to Lambda."""
    (request,) = lambda_client.calls
    return json.loads(request["Payload"])  # type: ignore[no-any-return]


# $connect and $disconnect


@pytest.mark.usefixtures("service")
def test_connect_stores_the_connection_and_starts_the_replay(call, dynamodb, lambda_client, context):
    # GIVEN a dashboard connecting with a session and event filter
    # WHEN $connect runs
    response = connect(call, "conn-1", token="t0k3n", sessionId="s1", events="PreToolUse,Stop")

    # THEN the connection is accepted and stored with its filter, principal and TTL
    assert response["statusCode"] == 200
    item = record(dynamodb, "conn-1")
    assert item is not None
    assert item["sessionId"] == {"S": "s1"}
    assert sorted(item["events"]["SS"]) == ["PreToolUse", "Stop"]
    assert item["principal"] == {"S": "alice-laptop"}
    assert int(item["ttl"]["N"]) > datetime.now(UTC).timestamp() + 3600
    assert "token" not in json.dumps(item)
    # AND the replay is handed to an asynchronous invocation of this very function
    (request,) = lambda_client.calls
    assert request["FunctionName"] == context.invoked_function_arn
    assert request["InvocationType"] == "Event"
    assert json.loads(request["Payload"]) == {
        REPLAY_KEY: {"connectionId": "conn-1", "sessionId": "s1", "events": ["PreToolUse", "Stop"], "limit": 100}
    }


@pytest.mark.usefixtures("service")
def test_connect_without_a_filter_stores_none(call, dynamodb, lambda_client):
    assert connect(call, "conn-1")["statusCode"] == 200

    item = record(dynamodb, "conn-1")
    assert item is not None
    assert "sessionId" not in item
    assert "events" not in item
    assert replay_event(lambda_client)[REPLAY_KEY] == {
        "connectionId": "conn-1",
        "sessionId": None,
        "events": [],
        "limit": 100,
    }


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"events": "bad name"}, "events"),
        ({"events": "PreToolUse,,Stop"}, "events"),
        ({"events": ",".join(f"Hook{index}" for index in range(21))}, "events"),
        ({"sessionId": "white space"}, "sessionId"),
        ({"sessionId": "s" * 200}, "sessionId"),
    ],
)
def test_connect_with_a_bad_filter_is_refused_with_400_and_nothing_stored(call, dynamodb, fakes, query, field):
    management, lambda_client, _ = fakes
    # WHEN a dashboard connects with a filter that cannot be valid
    response = connect(call, "conn-bad", **query)

    # THEN it is refused with a 400 whose JSON body names the parameter
    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert body["error"] == "validation_error"
    assert [detail["field"] for detail in body["details"]] == [field]
    assert field in body["message"]
    # AND nothing was stored and no replay was started
    assert stored_connections(dynamodb) == []
    assert lambda_client.calls == []
    assert management.sent == []


def test_connect_when_the_replay_cannot_start_is_refused_and_forgotten(call, dynamodb, service, lambda_client):
    # GIVEN Lambda refusing the asynchronous invocation
    lambda_client.fail_with = ClientError(
        {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke"
    )

    # WHEN a dashboard connects
    # THEN the connection is not accepted (the client reconnects rather than miss history)
    with pytest.raises(ClientError):
        connect(call, "conn-1")

    # AND its record is gone
    assert record(dynamodb, "conn-1") is None


def test_connect_with_the_deployed_wiring_and_no_replay_function_is_forgotten(call, dynamodb):
    # GIVEN the services as dependencies.py builds them, and a Lambda (moto's) that has no such function
    # WHEN a dashboard connects
    with pytest.raises(ClientError) as raised:
        connect(call, "conn-1")

    # THEN the invocation failed and the connection record was removed
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert stored_connections(dynamodb) == []


@pytest.mark.usefixtures("service")
def test_disconnect_deletes_only_that_connection(call, dynamodb):
    # GIVEN two connections
    connect(call, "conn-1")
    connect(call, "conn-2")

    # WHEN one disconnects
    response = call(ws_event("$disconnect", "conn-1"))

    # THEN only its record is deleted
    assert response["statusCode"] == 200
    assert stored_connections(dynamodb) == ["conn-2"]


@pytest.mark.usefixtures("service")
def test_disconnect_of_an_unknown_connection_is_fine(call):
    assert call(ws_event("$disconnect", "never-seen"))["statusCode"] == 200


# The history replay


@pytest.mark.usefixtures("service")
def test_replay_posts_the_filtered_history_oldest_first(call, lambda_client, management):
    # GIVEN events of two sessions and two kinds
    wanted = seed(5, session="s1", name="PreToolUse")
    seed(3, session="s2", name="PreToolUse", start=100)
    seed(3, session="s1", name="Stop", start=200)

    # WHEN a dashboard connects for session s1's PreToolUse events and the replay invocation runs
    connect(call, "conn-1", sessionId="s1", events="PreToolUse")
    result = call(replay_event(lambda_client))

    # THEN the connection gets one history message: exactly those events, oldest first
    assert result == {"outcome": "sent"}
    (message,) = management.messages("conn-1")
    assert message["type"] == "claude:events:history"
    assert event_ids([message]) == wanted


@pytest.mark.usefixtures("service")
def test_replay_sends_the_newest_100_by_default(call, lambda_client, management):
    # GIVEN 130 events
    ids = seed(130)

    # WHEN a dashboard connects with no filter and the replay runs
    connect(call, "conn-1")
    call(replay_event(lambda_client))

    # THEN it gets the newest 100, oldest first
    assert event_ids(management.messages("conn-1")) == ids[-100:]


@pytest.mark.usefixtures("service")
def test_empty_history_is_one_message_with_an_empty_list(call, lambda_client, management):
    connect(call, "conn-1")
    call(replay_event(lambda_client))

    assert management.messages("conn-1") == [{"type": "claude:events:history", "events": []}]


@pytest.mark.usefixtures("service")
def test_replay_waits_for_the_connection_to_be_established(call, lambda_client, management, dynamodb, clock):
    # GIVEN history, and a connection API Gateway establishes only after two 410s
    ids = seed(3)
    connect(call, "conn-1")
    management.script["conn-1"] = [gone(), gone()]

    # WHEN the replay runs
    result = call(replay_event(lambda_client))

    # THEN the history arrives on the third try, and the connection is kept
    assert result == {"outcome": "sent"}
    assert management.attempts["conn-1"] == 3
    assert event_ids(management.messages("conn-1")) == ids
    assert record(dynamodb, "conn-1") is not None
    assert 0 < sum(clock.sleeps) < 1


@pytest.mark.usefixtures("service")
def test_replay_to_a_connection_never_established_stops_at_the_deadline(
    call, lambda_client, management, dynamodb, clock
):
    # GIVEN a connection that closes before API Gateway establishes it: every post is 410
    seed(3)
    connect(call, "conn-1")
    connect(call, "conn-2")
    management.always["conn-1"] = gone()
    started = clock()

    # WHEN the replay runs (the clock moves only by the replay's own waits)
    with Timer() as timer:
        result = call({REPLAY_KEY: replay_event_for(lambda_client, "conn-1")})

    # THEN it gives up by the deadline, forgets that connection (only that one), and never sleeps for real
    assert result == {"outcome": "gone"}
    assert clock() - started <= websocket_settings().replay_deadline_seconds
    assert clock() - started >= websocket_settings().replay_deadline_seconds - 1
    assert management.sent == []
    assert stored_connections(dynamodb) == ["conn-2"]
    assert timer.seconds < 2


def replay_event_for(lambda_client: FakeLambdaClient, connection_id: str) -> dict[str, Any]:
    for request in lambda_client.calls:
        payload = json.loads(request["Payload"])[REPLAY_KEY]
        if payload["connectionId"] == connection_id:
            return payload  # type: ignore[no-any-return]
    raise AssertionError(f"no replay started for {connection_id}")


@pytest.mark.usefixtures("service")
def test_large_history_is_split_under_128_kb_with_nothing_lost(call, lambda_client, management):
    # GIVEN 30 events of 20 KB each
    ids = seed(30, data_bytes=20 * KB)

    # WHEN a dashboard connects and the replay runs
    connect(call, "conn-1")
    call(replay_event(lambda_client))

    # THEN several history messages, each within the limit, carry every event once, oldest first
    raw = management.raw("conn-1")
    assert len(raw) > 1
    assert all(len(message) <= MAX_MESSAGE_BYTES for message in raw)
    messages = management.messages("conn-1")
    assert {message["type"] for message in messages} == {"claude:events:history"}
    assert event_ids(messages) == ids
    assert not any(item.get("truncated") for message in messages for item in message["events"])


@pytest.mark.usefixtures("service")
def test_a_300_kb_event_arrives_truncated_and_marked(call, lambda_client, management):
    # GIVEN a small event, one of 300 KB, and another small one
    first = seed(1, start=0)
    big = seed(1, data_bytes=300 * KB, start=1)
    last = seed(1, start=2)
    stored = get_events("limit=3").json()["events"]
    assert [event["eventId"] for event in stored] == first + big + last
    assert "truncated" not in stored[1]  # stored whole; only the message must be cut

    # WHEN the history is replayed
    connect(call, "conn-1")
    call(replay_event(lambda_client))

    # THEN every message fits; the big event arrives cut, marked truncated, and is not lost
    raw = management.raw("conn-1")
    assert all(len(message) <= MAX_MESSAGE_BYTES for message in raw)
    events = [item for message in management.messages("conn-1") for item in message["events"]]
    assert [item["eventId"] for item in events] == first + big + last
    assert events[1]["truncated"] is True
    assert len(events[1]["data"]["tool_response"]["stdout"]) < 128 * KB
    assert events[0] == stored[0]
    assert events[2] == stored[2]


def test_replay_with_the_deployed_wiring_posts_through_moto(call, dynamodb):
    # GIVEN history and a stored connection, with the services as dependencies.py builds them
    ids = seed(4)
    dynamodb.put_item(
        TableName=CONNECTIONS,
        Item={"connectionId": {"S": "conn-1"}, "ttl": {"N": str(int(datetime.now(UTC).timestamp()) + 600)}},
    )

    # WHEN the replay invocation runs
    result = call({REPLAY_KEY: {"connectionId": "conn-1", "sessionId": None, "events": [], "limit": 100}})

    # THEN moto's @connections received the history
    assert result == {"outcome": "sent"}
    (message,) = moto_messages("conn-1")
    assert event_ids([message]) == ids


# Client messages: history


@pytest.mark.usefixtures("service")
def test_history_action_sends_the_newest_n_oldest_first(call, management):
    ids = seed(12)
    connect(call, "conn-1")

    assert send(call, "conn-1", {"action": "history", "limit": 5})["statusCode"] == 200

    assert event_ids(management.messages("conn-1")) == ids[-5:]


@pytest.mark.usefixtures("service")
def test_history_action_accepts_the_maximum_limit(call, management):
    ids = seed(40)
    connect(call, "conn-1")

    send(call, "conn-1", {"action": "history", "limit": 1000})

    assert event_ids(management.messages("conn-1")) == ids


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize("limit", [1001, 0, -1, "5", 5.5, True, [5]])
def test_history_action_with_a_bad_limit_names_it_and_keeps_the_connection(call, management, dynamodb, limit):
    # GIVEN a connection, and history
    seed(3)
    connect(call, "conn-1")

    # WHEN it asks for history with a limit that is not a whole number from 1 to 1000
    body: dict[str, Any] = {"action": "history", "limit": limit}
    response = send(call, "conn-1", body)

    # THEN it gets an error naming limit, no history, and stays connected
    assert response["statusCode"] == 200
    (message,) = management.messages("conn-1")
    assert message["type"] == "claude:error"
    assert message["message"].startswith("limit:")
    assert message["validActions"] == ["history", "subscribe"]
    assert record(dynamodb, "conn-1") is not None


@pytest.mark.usefixtures("service")
def test_history_action_can_switch_session(call, management):
    # GIVEN a connection filtered to session s1, and events of s1 and s2
    seed(3, session="s1")
    s2 = seed(2, session="s2", start=100)
    connect(call, "conn-1", sessionId="s1")

    # WHEN it asks for s2's history
    send(call, "conn-1", {"action": "history", "sessionId": "s2"})

    # THEN it gets s2's events
    assert event_ids(management.messages("conn-1")) == s2


@pytest.mark.usefixtures("service")
def test_history_action_uses_the_connection_filter_by_default(call, management):
    seed(3, session="s1", name="Stop")
    wanted = seed(2, session="s2", name="Stop", start=100)
    seed(2, session="s2", name="PreToolUse", start=200)
    connect(call, "conn-1", sessionId="s2", events="Stop")

    send(call, "conn-1", {"action": "history"})

    assert event_ids(management.messages("conn-1")) == wanted


@pytest.mark.usefixtures("service")
def test_history_action_session_override_keeps_the_connection_event_filter(call, management):
    # GIVEN a connection that wants Stop events only, of session s1
    seed(2, session="s1", name="Stop")
    wanted = seed(2, session="s2", name="Stop", start=100)
    seed(2, session="s2", name="PreToolUse", start=200)
    connect(call, "conn-1", sessionId="s1", events="Stop")

    # WHEN it asks for session s2's history, saying nothing of event names
    send(call, "conn-1", {"action": "history", "sessionId": "s2"})

    # THEN it gets s2's Stop events: what was not overridden still applies
    assert event_ids(management.messages("conn-1")) == wanted


@pytest.mark.usefixtures("service")
def test_history_action_with_empty_events_lifts_the_event_filter(call, management):
    stops = seed(2, session="s2", name="Stop")
    tools = seed(2, session="s2", name="PreToolUse", start=100)
    connect(call, "conn-1", events="Stop")

    send(call, "conn-1", {"action": "history", "sessionId": "s2", "events": []})

    assert event_ids(management.messages("conn-1")) == stops + tools


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "history", "sessionId": "white space"}, "sessionId"),
        ({"action": "history", "events": ["not a name"]}, "events"),
        ({"action": "history", "cursor": "abc"}, "cursor"),
    ],
)
def test_history_action_with_bad_fields_names_them(call, management, dynamodb, body, field):
    connect(call, "conn-1")

    send(call, "conn-1", body)

    (message,) = management.messages("conn-1")
    assert message["type"] == "claude:error"
    assert field in message["message"]
    assert record(dynamodb, "conn-1") is not None


@pytest.mark.usefixtures("service")
def test_history_to_a_closed_connection_forgets_it(call, management, dynamodb):
    connect(call, "conn-1")
    management.always["conn-1"] = gone()

    send(call, "conn-1", {"action": "history"})

    assert record(dynamodb, "conn-1") is None


# Client messages: $default and malformed ones


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ("hello", "JSON"),
        ("{not json", "JSON"),
        ("", "JSON"),
        ("[1, 2]", "JSON object"),
        ('"history"', "JSON object"),
        ("{}", "action"),
        ('{"action": 7}', "action"),
        ('{"action": "dance"}', "dance"),
        ('{"action": "' + "x" * 500 + '"}', "action"),
    ],
)
def test_default_route_answers_with_an_error_naming_the_valid_actions(call, management, dynamodb, body, mentions):
    # GIVEN a connection
    connect(call, "conn-1")

    # WHEN it sends something that is not a known action
    response = call(ws_event("$default", "conn-1", body=body))

    # THEN it gets one claude:error naming the valid actions, and stays connected
    assert response["statusCode"] == 200
    (message,) = management.messages("conn-1")
    assert message["type"] == "claude:error"
    assert message["validActions"] == ["history", "subscribe"]
    assert mentions in message["message"]
    assert len(message["message"]) < 200
    assert record(dynamodb, "conn-1") is not None


@pytest.mark.usefixtures("service")
def test_a_message_without_a_body_is_an_error_not_a_crash(call, management):
    connect(call, "conn-1")

    assert call(ws_event("$default", "conn-1"))["statusCode"] == 200

    (message,) = management.messages("conn-1")
    assert message["type"] == "claude:error"


# Client messages: subscribe


@pytest.mark.usefixtures("service")
def test_subscribe_changes_the_stored_filter_and_echoes_it(call, management, dynamodb):
    # GIVEN a connection with no filter
    connect(call, "conn-1")

    # WHEN it subscribes to one session's Stop and PreToolUse events
    send(call, "conn-1", {"action": "subscribe", "sessionId": "s9", "events": ["Stop", "PreToolUse"]})

    # THEN the record holds the new filter, and the client is told what it now receives
    item = record(dynamodb, "conn-1")
    assert item is not None
    assert item["sessionId"] == {"S": "s9"}
    assert sorted(item["events"]["SS"]) == ["PreToolUse", "Stop"]
    assert management.messages("conn-1") == [
        {"type": "claude:subscribed", "filter": {"sessionId": "s9", "events": ["PreToolUse", "Stop"]}}
    ]


@pytest.mark.usefixtures("service")
def test_subscribe_with_no_fields_clears_the_filter(call, management, dynamodb):
    connect(call, "conn-1", sessionId="s1", events="Stop")

    send(call, "conn-1", {"action": "subscribe"})

    item = record(dynamodb, "conn-1")
    assert item is not None
    assert "sessionId" not in item
    assert "events" not in item
    assert management.messages("conn-1")[-1]["filter"] == {"sessionId": None, "events": None}


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "subscribe", "sessionId": "white space"}, "sessionId"),
        ({"action": "subscribe", "events": "Stop"}, "events"),
        ({"action": "subscribe", "events": [f"Hook{index}" for index in range(21)]}, "events"),
        ({"action": "subscribe", "limit": 5}, "limit"),
    ],
)
def test_subscribe_with_bad_fields_names_them_and_keeps_the_filter(call, management, dynamodb, body, field):
    connect(call, "conn-1", sessionId="s1")

    send(call, "conn-1", body)

    (message,) = management.messages("conn-1")
    assert message["type"] == "claude:error"
    assert field in message["message"]
    item = record(dynamodb, "conn-1")
    assert item is not None
    assert item["sessionId"] == {"S": "s1"}


@pytest.mark.usefixtures("service")
def test_subscribe_of_an_unknown_connection_is_told_to_reconnect(call, management, dynamodb):
    send(call, "never-connected", {"action": "subscribe", "sessionId": "s1"})

    (message,) = management.messages("never-connected")
    assert message["type"] == "claude:error"
    assert "reconnect" in message["message"]
    assert stored_connections(dynamodb) == []
