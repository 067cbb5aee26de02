"""Turn one posted event, in either accepted shape, into the canonical event."""

from __future__ import annotations

import ntpath
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from ulid import ULID

from claude_events import codec, timestamps
from claude_events.errors import FieldProblem
from claude_events.models import IncomingEvent
from claude_events.names import KNOWN_HOOK_EVENTS
from claude_events.received import Received

# Raw Claude Code hook input names -> canonical names.
_RAW_NAMES = {"hook_event_name": "event", "session_id": "sessionId"}
_CANONICAL_TO_RAW = {canonical: raw for raw, canonical in _RAW_NAMES.items()}
_PASSTHROUGH = ("eventId", "timestamp", "source", "receivedAt", "truncated")
# Source fields only the server sets; a client's values for them are dropped.
SERVER_SOURCE_KEYS = frozenset({"ip", "token", "clientTimestamp"})
SOURCE_HEADERS = {"machine": "x-claude-machine", "user": "x-claude-user", "project": "x-claude-project"}

_FRIENDLY = {
    "event": "must be a hook event name in PascalCase (a letter, then up to 63 letters or digits)",
    "sessionId": "must be 1-128 characters: letters, digits and . _ : @ + = / -, starting with a letter or digit",
    "eventId": "must be 1-128 characters: letters, digits and . _ : -, starting with a letter or digit",
}


@dataclass(frozen=True)
class Policy:
    strict_event_names: bool
    max_future_skew: timedelta


@dataclass(frozen=True)
class CanonicalEvent:
    document: dict[str, Any]
    moment: datetime

    @property
    def event_id(self) -> str:
        return self.document["eventId"]  # type: ignore[no-any-return]


class InvalidEvent(ValueError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(problems[0].message)
        self.problems = problems


def canonical_event(posted: Any, received: Received, policy: Policy, prefix: str = "") -> CanonicalEvent:
    """Validate one posted event and fill what the server owns; InvalidEvent names each problem."""
    if not isinstance(posted, dict):
        raise InvalidEvent([FieldProblem(prefix.rstrip(".") or "body", "must be a JSON object")])
    raw_shape = "hook_event_name" in posted and "event" not in posted
    fields = _from_raw(posted) if raw_shape else posted
    try:
        incoming = IncomingEvent.model_validate(fields)
    except ValidationError as error:
        raise InvalidEvent(_problems(error, prefix, raw_shape)) from None

    problems: list[FieldProblem] = []
    if policy.strict_event_names and incoming.event not in KNOWN_HOOK_EVENTS:
        problems.append(FieldProblem(_name("event", prefix, raw_shape), "is not a known Claude Code hook event"))
    if codec.depth_exceeds(incoming.data):
        problems.append(FieldProblem(f"{prefix}data", f"nests deeper than {codec.MAX_DEPTH} levels"))

    client_moment: datetime | None = None
    if incoming.timestamp is not None:
        try:
            client_moment = timestamps.parse(incoming.timestamp)
        except timestamps.TimestampError as error:
            problems.append(FieldProblem(f"{prefix}timestamp", str(error)))
    if problems:
        raise InvalidEvent(problems)

    event_id = incoming.eventId or str(ULID())
    ulid_moment = _ulid_moment(incoming.eventId)
    moment = client_moment or ulid_moment or received.at
    source = _source(incoming, received)
    latest = received.at + policy.max_future_skew
    if moment > latest:
        source["clientTimestamp"] = incoming.timestamp or timestamps.display(moment)
        # A ULID's own time keeps a retried post on the same key; the receive time would not.
        moment = ulid_moment if ulid_moment is not None and ulid_moment <= latest else received.at

    document: dict[str, Any] = {
        "eventId": event_id,
        "timestamp": timestamps.display(moment),
        "event": incoming.event,
        "sessionId": incoming.sessionId,
        "data": incoming.data,
        "source": source,
        "receivedAt": timestamps.display(received.at),
    }
    if incoming.truncated:
        document["truncated"] = True
    return CanonicalEvent(document, moment)


def _from_raw(posted: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for key, value in posted.items():
        if key in _RAW_NAMES:
            fields[_RAW_NAMES[key]] = value
        elif key in _PASSTHROUGH and (key != "source" or isinstance(value, dict)):
            # Claude Code's own `source` (SessionStart: "startup", "resume", ...) is a string
            # and stays in data; an object `source` is the hook client's.
            fields[key] = value
        else:
            data[key] = value
    fields["data"] = data
    return fields


def _ulid_moment(event_id: str | None) -> datetime | None:
    """A retried post with a client ULID and no timestamp must map to the same key."""
    if event_id is None or len(event_id) != 26:
        return None
    try:
        return ULID.from_str(event_id).datetime
    except ValueError:
        return None


def _source(incoming: IncomingEvent, received: Received) -> dict[str, Any]:
    source: dict[str, Any] = {}
    for name, header in SOURCE_HEADERS.items():
        value = received.headers.get(header)
        if value:
            source[name] = value[:256]
    source.update({key: value for key, value in (incoming.source or {}).items() if key not in SERVER_SOURCE_KEYS})
    cwd = incoming.data.get("cwd")
    if "project" not in source and isinstance(cwd, str):
        # ntpath splits on both / and \: Claude Code also runs on Windows.
        project = ntpath.basename(cwd.rstrip("/\\"))
        if project:
            source["project"] = project[:256]
    if received.source_ip:
        source["ip"] = received.source_ip
    if received.token_name:
        source["token"] = received.token_name
    return source


def _name(canonical: str, prefix: str, raw_shape: bool) -> str:
    return prefix + (_CANONICAL_TO_RAW.get(canonical, canonical) if raw_shape else canonical)


def _problems(error: ValidationError, prefix: str, raw_shape: bool) -> list[FieldProblem]:
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        location = [str(part) for part in detail["loc"]]
        head = location[0] if location else ""
        name = _name(head, prefix, raw_shape) + "".join(
            f"[{part}]" if part.isdigit() else f".{part}" for part in location[1:]
        )
        problems.append(FieldProblem(name or prefix.rstrip(".") or "body", _message(head, detail)))
    return problems


def _message(field_name: str, detail: Any) -> str:
    kind = detail["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field of an event (put hook fields under data)"
    if kind == "string_pattern_mismatch" and field_name in _FRIENDLY:
        return _FRIENDLY[field_name]
    if kind == "string_type":
        return "must be a string"
    if kind == "dict_type":
        return "must be a JSON object"
    return str(detail["msg"])
