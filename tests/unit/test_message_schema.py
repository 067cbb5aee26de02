"""docs/websocket-messages.schema.json is the generated schema, and it accepts the real messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from claude_events import codec, messages
from claude_events.connections import Connection, EventFilter
from claude_events.delivery import Poster
from claude_events.history import HistoryPage, HistoryRequest
from claude_events.message_schema import build, schema_json
from claude_events.normalize import Policy, canonical_event
from claude_events.received import Received
from claude_events.websocket import HistoryAction, SubscribeAction, WebSocketService

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "websocket-messages.schema.json"
SCHEMA = build()
SERVER = Draft202012Validator(SCHEMA)
CLIENT = Draft202012Validator({"$ref": "#/$defs/clientMessages", "$defs": SCHEMA["$defs"]})
RECEIVED = Received(datetime(2026, 11, 25, 10, 0, tzinfo=UTC), "203.0.113.7", {"x-claude-machine": "laptop-1"})
POLICY = Policy(strict_event_names=False, max_future_skew=timedelta(minutes=5))


def stored_text(event: str = "PreToolUse", session_id: str = "session-1", **data: Any) -> str:
    """An event's JSON as ingest stores it, so as the history replay and the broadcast read it."""
    posted = {"event": event, "sessionId": session_id, "data": {"tool_name": "Bash", **data}}
    return codec.encode(canonical_event(posted, RECEIVED, POLICY).document).json_text


def parsed(message: bytes) -> dict[str, Any]:
    assert len(message) <= messages.MAX_MESSAGE_BYTES
    document = json.loads(message)
    SERVER.validate(document)
    return document  # type: ignore[no-any-return]


def test_checked_in_schema_matches_the_code():
    # GIVEN the schema in docs/ and the one generated from the models and message constants
    checked_in = DOCUMENT.read_text()

    # WHEN they are compared
    generated = schema_json()

    # THEN they are the same (regenerate: PYTHONPATH=shared python -m claude_events.message_schema)
    assert checked_in == generated


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    kinds = {SCHEMA["$defs"][ref["$ref"].rsplit("/", 1)[1]]["properties"]["type"]["const"] for ref in SCHEMA["oneOf"]}
    assert kinds == {messages.HISTORY, messages.ONE_EVENT, messages.SEVERAL_EVENTS, messages.ERROR, messages.SUBSCRIBED}


def test_history_messages_are_valid_and_an_empty_history_is_one_message():
    empty = messages.history_messages([])
    assert [parsed(message) for message in empty] == [{"type": messages.HISTORY, "events": []}]

    texts = [stored_text(command=f"ls {index}") for index in range(3)]
    (only,) = messages.history_messages(texts)
    assert [event["eventId"] for event in parsed(only)["events"]] == [json.loads(text)["eventId"] for text in texts]


def test_history_over_128_kb_is_split_into_valid_messages_in_order():
    texts = [stored_text(command="x" * 2000, index=index) for index in range(150)]

    history = messages.history_messages(texts)

    assert len(history) > 1
    replayed = [event["eventId"] for message in history for event in parsed(message)["events"]]
    assert replayed == [json.loads(text)["eventId"] for text in texts]


def test_live_messages_one_event_and_several():
    (one,) = messages.live_messages([stored_text()])
    assert parsed(one)["type"] == messages.ONE_EVENT

    (several,) = messages.live_messages([stored_text(), stored_text("PostToolUse"), stored_text("Stop")])
    document = parsed(several)
    assert document["type"] == messages.SEVERAL_EVENTS
    assert [event["event"] for event in document["events"]] == ["PreToolUse", "PostToolUse", "Stop"]


def test_an_event_too_big_for_a_message_arrives_truncated_and_valid():
    huge = stored_text("PostToolUse", tool_response="y" * 300_000)
    assert len(huge) > messages.MAX_MESSAGE_BYTES

    (alone,) = messages.live_messages([huge])
    assert parsed(alone)["event"]["truncated"] is True

    together = messages.live_messages([stored_text(), huge])
    documents = [parsed(message) for message in together]
    assert {document["type"] for document in documents} == {messages.SEVERAL_EVENTS}
    assert [event.get("truncated") for document in documents for event in document["events"]] == [None, True]

    (history,) = messages.history_messages([huge])
    assert parsed(history)["events"][0]["truncated"] is True


def test_error_and_subscribed_messages_are_valid():
    error = parsed(messages.error_message("limit: Input should be a valid integer"))
    assert error["validActions"] == list(messages.VALID_ACTIONS)

    assert parsed(messages.subscribed_message(None, []))["filter"] == {"sessionId": None, "events": None}
    subscribed = parsed(messages.subscribed_message("session-1", ["PostToolUse", "PreToolUse"]))
    assert subscribed["filter"] == {"sessionId": "session-1", "events": ["PostToolUse", "PreToolUse"]}


class _Exceptions:
    class GoneException(Exception):
        pass

    class LimitExceededException(Exception):
        pass


class _RecordingClient:
    exceptions = _Exceptions

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> None:
        self.sent.append(Data)


class _Connections:
    def __init__(self) -> None:
        self.filters = {"c-1": EventFilter("session-1", frozenset({"PreToolUse"}))}

    def get(self, connection_id: str) -> Connection | None:
        found = self.filters.get(connection_id)
        return Connection(connection_id, found) if found else None

    def update_filter(self, connection_id: str, event_filter: EventFilter) -> bool:
        if connection_id not in self.filters:
            return False
        self.filters[connection_id] = event_filter
        return True

    def delete(self, connection_id: str) -> None:
        self.filters.pop(connection_id, None)


class _History:
    def page(self, request: HistoryRequest) -> HistoryPage:
        return HistoryPage([stored_text(session_id=request.session_id or "session-1")], None)


@pytest.mark.parametrize(
    ("connection_id", "body", "kind"),
    [
        ("c-1", '{"action":"history"}', messages.HISTORY),
        ("c-1", '{"action":"history","sessionId":"session-2","limit":5}', messages.HISTORY),
        ("c-1", '{"action":"subscribe","events":["Stop","PreToolUse","Stop"]}', messages.SUBSCRIBED),
        ("c-1", '{"action":"subscribe"}', messages.SUBSCRIBED),
        ("c-1", "not json", messages.ERROR),
        ("c-1", "[1, 2]", messages.ERROR),
        ("c-1", '{"action":"shout"}', messages.ERROR),
        ("c-1", '{"action":"history","limit":0}', messages.ERROR),
        ("c-1", '{"action":"history","limit":"5"}', messages.ERROR),
        ("c-1", '{"action":"subscribe","limit":5}', messages.ERROR),
        ("gone", '{"action":"subscribe"}', messages.ERROR),
    ],
)
def test_every_answer_to_a_client_message_is_valid(connection_id, body, kind):
    # GIVEN the WebSocket service with a recording management client
    client = _RecordingClient()
    service = WebSocketService(
        connections=_Connections(),  # type: ignore[arg-type]
        history=_History(),  # type: ignore[arg-type]
        poster=Poster(client),  # type: ignore[arg-type]
        start_replay=lambda replay, function: None,
    )

    # WHEN a client sends a message
    service.on_message(connection_id, body)

    # THEN each answer is a valid message of the expected type
    assert [parsed(message)["type"] for message in client.sent] == [kind]


@pytest.mark.parametrize(
    "document",
    [
        {"events": []},
        {"type": "claude:nope", "events": []},
        {"type": 3, "events": []},
        {"type": messages.HISTORY},
        {"type": messages.HISTORY, "event": json.loads(stored_text())},
        {"type": messages.ONE_EVENT, "events": [json.loads(stored_text())]},
        {"type": messages.ONE_EVENT, "event": {**json.loads(stored_text()), "eventId": None}},
        {"type": messages.ONE_EVENT, "event": {k: v for k, v in json.loads(stored_text()).items() if k != "data"}},
        {"type": messages.SEVERAL_EVENTS, "events": []},
        {"type": messages.ERROR, "message": "oops"},
        {"type": messages.ERROR, "message": "oops", "validActions": ["shout"]},
        {"type": messages.SUBSCRIBED, "filter": {"sessionId": None}},
        {"type": messages.SUBSCRIBED, "filter": {"sessionId": None, "events": []}},
        {"type": messages.ONE_EVENT, "event": json.loads(stored_text()), "extra": 1},
        ["claude:event"],
    ],
)
def test_invalid_server_messages_are_rejected(document):
    assert not SERVER.is_valid(document)


@pytest.mark.parametrize(
    "action",
    [
        {"action": "history"},
        {"action": "history", "sessionId": "session-1", "events": ["PreToolUse"], "limit": 1000},
        {"action": "history", "sessionId": None, "events": None, "limit": None},
        {"action": "history", "events": []},
        {"action": "subscribe", "sessionId": "a.b:c@d+e=f/g-h_1"},
        {"action": "subscribe", "events": ["Stop"] * 20},
        {"action": "history", "limit": 0},
        {"action": "history", "limit": 1001},
        {"action": "history", "limit": "5"},
        {"action": "history", "limit": True},
        {"action": "history", "sessionId": ""},
        {"action": "history", "sessionId": "has space"},
        {"action": "history", "events": ["preToolUse"]},
        {"action": "subscribe", "events": ["Stop"] * 21},
        {"action": "subscribe", "limit": 5},
        {"action": "history", "extra": 1},
        {"action": "shout"},
        {"sessionId": "session-1"},
    ],
)
def test_client_schema_agrees_with_the_action_models(action):
    # GIVEN the model the server validates this action with (none for an unknown action)
    models: dict[str, type[BaseModel]] = {"history": HistoryAction, "subscribe": SubscribeAction}
    model = models.get(action.get("action", ""))
    try:
        accepted = model is not None and bool(model.model_validate(action))
    except ValidationError:
        accepted = False

    # THEN the schema accepts exactly what the server accepts
    assert CLIENT.is_valid(action) == accepted
