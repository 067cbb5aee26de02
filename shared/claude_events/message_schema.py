"""JSON Schema (draft 2020-12) of the WebSocket messages, generated from the code that makes them.

`python -m claude_events.message_schema` prints it; docs/websocket-messages.schema.json is that
output, checked in, and a test fails when the two differ. The top-level `oneOf` covers every
server -> client message; `$defs.clientMessages` covers the client -> server actions.

The event is ClaudeEvent's schema and the actions are HistoryAction's and SubscribeAction's, as
pydantic generates them; the envelopes are written here from the constants messages.py uses, since
messages.py splices stored event JSON into bytes rather than serialising a model.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from claude_events import messages
from claude_events.models import ClaudeEvent
from claude_events.names import EVENT_NAME_PATTERN, MAX_EVENT_NAMES, SESSION_ID_PATTERN
from claude_events.settings import WebSocketSettings
from claude_events.websocket import HistoryAction, SubscribeAction

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SERVER_REF = "#/$defs/{model}"
_CLIENT_REF = "#/$defs/clientMessages/$defs/{model}"
_EVENT = {"$ref": _SERVER_REF.format(model="ClaudeEvent")}
_SIZE_NOTE = f"At most {messages.MAX_MESSAGE_BYTES} bytes of UTF-8 JSON (API Gateway's 128 KB message limit)."


def _envelope(
    title: str, kind: str, description: str, properties: dict[str, Any], *, closed: bool = True
) -> dict[str, Any]:
    return {
        "title": title,
        "description": f"{description} {_SIZE_NOTE}",
        "type": "object",
        "properties": {"type": {"const": kind}, **properties},
        "required": ["type", *properties],
        "additionalProperties": not closed,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _server_messages() -> dict[str, dict[str, Any]]:
    return {
        "HistoryMessage": _envelope(
            "HistoryMessage",
            messages.HISTORY,
            "History, oldest first: sent after connect and in answer to a history action. Split into several"
            " messages when it does not fit in one; an empty history is one message with no events.",
            {"events": {"type": "array", "items": _EVENT}},
        ),
        "EventMessage": _envelope(
            "EventMessage",
            messages.ONE_EVENT,
            "One new event: the only event of a stream batch that matches the connection's filter.",
            {"event": _EVENT},
        ),
        "EventsMessage": _envelope(
            "EventsMessage",
            messages.SEVERAL_EVENTS,
            "Several new events from one stream batch, in stream order; split into several messages only"
            " when they do not fit in one.",
            {"events": {"type": "array", "items": _EVENT, "minItems": 1}},
        ),
        "ErrorMessage": _envelope(
            "ErrorMessage",
            messages.ERROR,
            "A client message was refused; the connection stays open.",
            {
                "message": {"type": "string", "description": "What was wrong, naming the field"},
                "validActions": {
                    "type": "array",
                    "items": {"enum": list(messages.VALID_ACTIONS)},
                    "description": "The actions a client may send",
                },
            },
            closed=False,
        ),
        "SubscribedMessage": _envelope(
            "SubscribedMessage",
            messages.SUBSCRIBED,
            "The connection's new filter, in answer to a subscribe action.",
            {
                "filter": {
                    "type": "object",
                    "properties": {
                        "sessionId": _nullable({"type": "string", "pattern": SESSION_ID_PATTERN})
                        | {"description": "Only this session's events; null for every session"},
                        "events": _nullable(
                            {
                                "type": "array",
                                "items": {"type": "string", "pattern": EVENT_NAME_PATTERN},
                                "minItems": 1,
                                "maxItems": MAX_EVENT_NAMES,
                                "uniqueItems": True,
                            }
                        )
                        | {"description": "Only these hook event names, sorted; null for every event"},
                    },
                    "required": ["sessionId", "events"],
                    "additionalProperties": False,
                }
            },
        ),
    }


def _client_messages() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(HistoryAction, "validation"), (SubscribeAction, "validation")], ref_template=_CLIENT_REF
    )
    actions: dict[str, Any] = definitions.get("$defs", {})
    default_limit = WebSocketSettings.history_limit
    history, subscribe = actions["HistoryAction"], actions["SubscribeAction"]
    history["description"] = (
        "Re-send history as claude:events:history messages, filtered by the connection's filter with"
        " the fields given here replacing its own (events: [] means every event name)."
        " It does not change the live filter."
    )
    history["properties"]["limit"]["description"] = f"How many of the newest events; {default_limit} when absent"
    subscribe["description"] = (
        "Replace the connection's live filter with exactly these fields (an absent one means all);"
        " answered by claude:subscribed. Sends no history: follow it with a history action if needed."
    )
    return {
        "title": "ClientMessage",
        "description": (
            "A client -> server action. Strict types: limit must be a JSON integer; unknown fields are refused."
        ),
        "oneOf": [{"$ref": _CLIENT_REF.format(model=name)} for name in actions],
        "$defs": actions,
    }


def build() -> dict[str, Any]:
    _, definitions = models_json_schema([(ClaudeEvent, "validation")], ref_template=_SERVER_REF)
    event_schemas: dict[str, Any] = definitions.get("$defs", {})
    event_schemas["ClaudeEvent"]["properties"]["truncated"]["description"] = (
        "true when oversized fields were cut: to fit storage (400 KB), or to fit one WebSocket message"
        " (128 KB), in which case GET /api/claude-events returns the stored event"
    )
    server = _server_messages()
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "Claude Events WebSocket messages",
        "description": (
            "Every server -> client message (JSON text frames). Client -> server actions are under"
            " $defs.clientMessages. See docs/websocket-protocol.md."
        ),
        "oneOf": [{"$ref": _SERVER_REF.format(model=name)} for name in server],
        "$defs": {**event_schemas, **server, "clientMessages": _client_messages()},
    }


@cache
def schema_json() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_json(), end="")
