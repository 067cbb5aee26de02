"""The event contract: what clients send, what we store, return and broadcast."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from claude_events.names import EVENT_ID_PATTERN, EVENT_NAME_PATTERN, SESSION_ID_PATTERN

EventName = Annotated[
    str,
    StringConstraints(pattern=EVENT_NAME_PATTERN),
    Field(description="Hook event name in PascalCase, e.g. PreToolUse", examples=["PreToolUse"]),
]
SessionId = Annotated[
    str,
    StringConstraints(pattern=SESSION_ID_PATTERN),
    Field(description="Claude Code session_id", examples=["4f3c2a1e-9b7d-4c1a-8e2f-0a1b2c3d4e5f"]),
]
EventId = Annotated[
    str,
    StringConstraints(pattern=EVENT_ID_PATTERN),
    Field(
        description="Idempotency key; a ULID is made when absent",
        examples=["01JDQ7Z8W3J5K6M7N8P9Q0R1S2"],
    ),
]
Timestamp = Annotated[
    str,
    StringConstraints(min_length=11, max_length=40),
    Field(description="ISO 8601 date and time; UTC when no offset is given"),
]
SourceValue = Annotated[str, StringConstraints(max_length=256)]
SourceKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")]

# Fields the server owns: a client may send them back (re-posting a stored event) but
# receivedAt is always replaced, and only truncated=true is kept.
SERVER_FIELDS = ("receivedAt", "truncated")


class IncomingEvent(BaseModel):
    """One event in the prototype's shape."""

    model_config = ConfigDict(extra="forbid", strict=True, title="IncomingEvent")

    event: EventName
    sessionId: SessionId
    timestamp: Timestamp | None = None
    eventId: EventId | None = None
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="tool_name, tool_input, tool_response, prompt and every other hook field",
    )
    source: Annotated[dict[SourceKey, SourceValue], Field(max_length=16)] | None = Field(
        default=None, description="machine, user, project: where the event came from"
    )
    receivedAt: str | None = Field(default=None, description="ignored: the server sets it")
    truncated: bool | None = Field(default=None, description="kept when true")


class RawHookInput(BaseModel):
    """The JSON Claude Code hands a hook, posted as it is (a `type: "http"` hook)."""

    model_config = ConfigDict(extra="allow", title="RawHookInput")

    hook_event_name: EventName
    session_id: SessionId
    eventId: EventId | None = None
    timestamp: Timestamp | None = None
    source: dict[SourceKey, SourceValue] | None = None


class IngestBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", title="IngestBatch")

    events: list[IncomingEvent | RawHookInput] = Field(min_length=1, max_length=100)


class ClaudeEvent(BaseModel):
    """The canonical event: what we store, return and broadcast."""

    eventId: str
    timestamp: str = Field(description="ISO 8601 UTC")
    event: str
    sessionId: str
    data: dict[str, Any]
    source: dict[str, Any]
    receivedAt: str = Field(description="server time, ISO 8601 UTC")
    truncated: bool | None = Field(default=None, description="set when oversized fields were cut to fit storage")


class IngestedOne(BaseModel):
    event: ClaudeEvent


class IngestedMany(BaseModel):
    events: list[ClaudeEvent]
    count: int


class EventPage(BaseModel):
    """History, newest N returned oldest first; nextCursor pages further back in time."""

    events: list[ClaudeEvent]
    count: int
    nextCursor: str | None


class ProblemDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    error: str = Field(examples=["validation_error"])
    message: str
    details: list[ProblemDetail] | None = None


class NotStoredEvent(BaseModel):
    index: int
    eventId: str


class StorageUnavailableBody(ErrorBody):
    stored: list[str] = Field(description="eventIds that were stored")
    failed: list[NotStoredEvent] = Field(description="events that were not stored; retry them")


class Health(BaseModel):
    status: str = "ok"
