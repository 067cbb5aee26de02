"""The WebSocket protocol: connect with a filter, replay history, history and subscribe actions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from claude_events.connections import Connection, ConnectionStore, EventFilter
from claude_events.delivery import Delivered, Poster
from claude_events.errors import FieldProblem, RequestError, validation_error
from claude_events.history import MAX_LIMIT, HistoryRequest, HistoryService
from claude_events.messages import error_message, history_messages, subscribed_message
from claude_events.models import EventName, SessionId
from claude_events.names import EVENT_NAMES_RULE, MAX_EVENT_NAMES, SESSION_ID_RULE, event_names, is_session_id

REPLAY_KEY = "claudeEventsReplay"


class HistoryAction(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    action: Literal["history"]
    sessionId: SessionId | None = None
    events: Annotated[list[EventName], Field(max_length=MAX_EVENT_NAMES)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] | None = None


class SubscribeAction(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    action: Literal["subscribe"]
    sessionId: SessionId | None = None
    events: Annotated[list[EventName], Field(max_length=MAX_EVENT_NAMES)] | None = None


class ClientMessage(BaseModel):
    """Only to read `action` first, so the error can name the right model's fields."""

    action: Annotated[str, StringConstraints(max_length=64)]


@dataclass(frozen=True)
class Replay:
    """What the asynchronous replay invocation needs: who, and which history."""

    connection_id: str
    filter: EventFilter
    limit: int

    def payload(self) -> dict[str, Any]:
        return {
            REPLAY_KEY: {
                "connectionId": self.connection_id,
                "sessionId": self.filter.session_id,
                "events": sorted(self.filter.event_names),
                "limit": self.limit,
            }
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Replay:
        fields = payload[REPLAY_KEY]
        event_filter = EventFilter(fields.get("sessionId"), frozenset(fields.get("events") or ()))
        return cls(str(fields["connectionId"]), event_filter, int(fields["limit"]))


def filter_from_query(params: Mapping[str, str]) -> EventFilter:
    """The `sessionId` and `events` query parameters of a connect URL; RequestError names bad ones."""
    problems: list[FieldProblem] = []
    session_id = params.get("sessionId") or None
    if session_id is not None and not is_session_id(session_id):
        problems.append(FieldProblem("sessionId", SESSION_ID_RULE))
    names: tuple[str, ...] | None = ()
    if params.get("events"):
        names = event_names(params["events"])
        if names is None:
            problems.append(FieldProblem("events", EVENT_NAMES_RULE))
    if problems or names is None:
        raise validation_error(problems)
    return EventFilter(session_id, frozenset(names))


class LambdaReplayStarter:
    """Starts the replay as an asynchronous invocation of this same function."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __call__(self, replay: Replay, function_name: str) -> None:
        self._client.invoke(
            FunctionName=function_name,
            InvocationType="Event",
            Payload=json.dumps(replay.payload()).encode(),
        )


class WebSocketService:
    def __init__(
        self,
        *,
        connections: ConnectionStore,
        history: HistoryService,
        poster: Poster,
        start_replay: Callable[[Replay, str], None],
        history_limit: int = 100,
        replay_deadline_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connections = connections
        self._history = history
        self._poster = poster
        self._start_replay = start_replay
        self._history_limit = history_limit
        self._replay_deadline = replay_deadline_seconds
        self._clock = clock

    def connect(
        self, connection_id: str, params: Mapping[str, str], principal: str | None, replay_function: str
    ) -> Connection:
        """Store the connection and have `replay_function` (this function) post its history.

        RequestError refuses the connection.
        """
        connection = Connection(connection_id, filter_from_query(params), principal)
        self._connections.save(connection)
        try:
            self._start_replay(Replay(connection_id, connection.filter, self._history_limit), replay_function)
        except Exception:
            # Without its replay the client would miss history: refuse, so it reconnects.
            self._connections.delete(connection_id)
            raise
        return connection

    def disconnect(self, connection_id: str) -> None:
        self._connections.delete(connection_id)

    def replay(self, replay: Replay) -> Delivered:
        """Post history once the connection is established; forget a connection that never is."""
        deadline = self._clock() + self._replay_deadline
        messages = self._history_messages(replay.filter, replay.limit)
        outcome = self._poster.post_when_established(replay.connection_id, messages[0], deadline)
        for message in messages[1:]:
            if outcome is not Delivered.SENT:
                break
            outcome = self._poster.post(replay.connection_id, message)
        if outcome is Delivered.GONE:
            self._connections.delete(replay.connection_id)
        return outcome

    def on_message(self, connection_id: str, body: str | None) -> Delivered:
        """A client's message: `history`, `subscribe`, or an error naming the valid actions."""
        try:
            fields = json.loads(body or "")
            # A JSON array or string is as malformed as broken JSON: model_validate refuses it too.
            action = ClientMessage.model_validate(fields).action
        except (ValueError, ValidationError):
            return self._send(connection_id, error_message("messages must be JSON objects with an action"))
        try:
            if action == "history":
                request = HistoryAction.model_validate(fields)
                return self._send_history(connection_id, request)
            if action == "subscribe":
                subscription = SubscribeAction.model_validate(fields)
                return self._subscribe(connection_id, subscription)
        except ValidationError as error:
            problems = [_problem(detail) for detail in error.errors(include_url=False, include_input=False)]
            return self._send(connection_id, error_message(validation_error(problems).message))
        except RequestError as error:
            return self._send(connection_id, error_message(error.message))
        return self._send(connection_id, error_message(f"unknown action {str(action)[:64]!r}"))

    def _send_history(self, connection_id: str, request: HistoryAction) -> Delivered:
        # What the request names overrides the connection's filter; what it leaves out still applies.
        current = self._connections.get(connection_id)
        stored = current.filter if current else EventFilter()
        event_filter = EventFilter(
            request.sessionId if request.sessionId is not None else stored.session_id,
            frozenset(request.events) if request.events is not None else stored.event_names,
        )
        outcome = Delivered.SENT
        for message in self._history_messages(event_filter, request.limit or self._history_limit):
            outcome = self._send(connection_id, message)
            if outcome is not Delivered.SENT:
                break
        return outcome

    def _subscribe(self, connection_id: str, request: SubscribeAction) -> Delivered:
        event_filter = EventFilter(request.sessionId, frozenset(request.events or ()))
        if not self._connections.update_filter(connection_id, event_filter):
            return self._send(connection_id, error_message("this connection is not registered; reconnect"))
        return self._send(connection_id, subscribed_message(event_filter.session_id, sorted(event_filter.event_names)))

    def _history_messages(self, event_filter: EventFilter, limit: int) -> list[bytes]:
        page = self._history.page(
            HistoryRequest(
                session_id=event_filter.session_id, limit=limit, event_names=tuple(sorted(event_filter.event_names))
            )
        )
        return history_messages(page.event_texts)

    def _send(self, connection_id: str, message: bytes) -> Delivered:
        outcome = self._poster.post(connection_id, message)
        if outcome is Delivered.GONE:
            self._connections.delete(connection_id)
        return outcome


def _problem(detail: Any) -> FieldProblem:
    location = ".".join(str(part) for part in detail["loc"]) or "message"
    return FieldProblem(location, str(detail["msg"]))
