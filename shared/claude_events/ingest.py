"""Ingest: parse a posted body, validate every event, store them all or say which were not stored."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from claude_events import codec, keys
from claude_events.errors import FieldProblem, field_error, payload_too_large, validation_error
from claude_events.normalize import CanonicalEvent, InvalidEvent, Policy, canonical_event
from claude_events.received import Received
from claude_events.repository import EventStore, Item
from claude_events.settings import IngestSettings

MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class PreparedEvent:
    event_id: str
    item: Item
    json_text: str
    truncated: bool


@dataclass(frozen=True)
class IngestResult:
    events: list[PreparedEvent]
    batch: bool
    stored: list[int]
    failed: list[int]
    throttled_attempts: int

    @property
    def complete(self) -> bool:
        return not self.failed

    def body(self) -> str:
        """The response body, assembled from the stored JSON texts without re-serialising."""
        if self.complete and not self.batch:
            return '{"event":' + self.events[0].json_text + "}"
        if self.complete:
            joined = ",".join(event.json_text for event in self.events)
            return f'{{"events":[{joined}],"count":{len(self.events)}}}'
        stored = [self.events[index].event_id for index in self.stored]
        failed = [{"index": index, "eventId": self.events[index].event_id} for index in self.failed]
        return json.dumps(
            {
                "error": "storage_unavailable",
                "message": f"{len(failed)} of {len(self.events)} events were not stored; retry them",
                "stored": stored,
                "failed": failed,
            },
            separators=(",", ":"),
        )


class IngestService:
    def __init__(self, store: EventStore, settings: IngestSettings) -> None:
        self._store = store
        self._settings = settings
        self._policy = Policy(
            strict_event_names=settings.strict_event_names,
            max_future_skew=timedelta(seconds=settings.max_future_skew_seconds),
        )
        self._ttl_seconds = settings.retention_days * 86_400

    def ingest(self, body: bytes, received: Received) -> IngestResult:
        if len(body) > self._settings.max_body_bytes:
            raise payload_too_large(len(body), self._settings.max_body_bytes)
        posted, batch = self._events_in(parse_json(body))
        events = self._canonical(posted, received, batch)
        expires = int(received.at.timestamp()) + self._ttl_seconds
        prepared = [self._prepare(event, index, batch, expires) for index, event in enumerate(events)]
        deadline = time.monotonic() + self._settings.write_deadline_seconds
        outcome = self._store.put_items([event.item for event in prepared], deadline)
        return IngestResult(prepared, batch, outcome.stored, outcome.failed, outcome.throttled_attempts)

    def _events_in(self, body: Any) -> tuple[list[Any], bool]:
        if isinstance(body, list):
            posted, batch = body, True
        elif isinstance(body, dict) and "events" in body:
            extra = sorted(set(body) - {"events"})
            if extra:
                raise field_error(extra[0], "is not allowed beside events in a batch")
            posted, batch = body["events"], True
            if not isinstance(posted, list):
                raise field_error("events", "must be a JSON array of events")
        elif isinstance(body, dict):
            return [body], False
        else:
            raise field_error("body", "must be a JSON object (one event) or array (a batch)")
        if not posted:
            raise field_error("events", "must hold at least one event")
        if len(posted) > self._settings.max_batch_size:
            raise field_error(
                "events", f"holds {len(posted)} events; a batch may hold at most {self._settings.max_batch_size}"
            )
        return posted, batch

    def _canonical(self, posted: list[Any], received: Received, batch: bool) -> list[CanonicalEvent]:
        events: list[CanonicalEvent] = []
        problems: list[FieldProblem] = []
        for index, item in enumerate(posted):
            try:
                events.append(canonical_event(item, received, self._policy, f"events[{index}]." if batch else ""))
            except InvalidEvent as invalid:
                problems.extend(invalid.problems)
        if problems:
            raise validation_error(problems[:MAX_LISTED_PROBLEMS])
        return events

    def _prepare(self, event: CanonicalEvent, index: int, batch: bool, expires: int) -> PreparedEvent:
        try:
            encoded = codec.encode(event.document)
        except codec.UnencodableText as error:
            prefix = f"events[{index}]." if batch else ""
            raise field_error(
                f"{prefix}{error.path}", "holds an unpaired surrogate, which is not Unicode text"
            ) from None
        document = event.document
        shard = keys.shard_of(event.event_id, self._settings.shard_count)
        item: Item = {
            "pk": {"S": keys.partition_key(shard)},
            "sk": {"S": keys.sort_key(event.moment, event.event_id)},
            "sessionId": {"S": document["sessionId"]},
            "event": {"S": document["event"]},
            "ttl": {"N": str(expires)},
            **encoded.item_fields(),
        }
        return PreparedEvent(event.event_id, item, encoded.json_text, encoded.truncated)


def parse_json(body: bytes) -> Any:
    """Strict JSON: no NaN or Infinity, no numbers that overflow to infinity."""
    try:
        return json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise field_error("body", "is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise field_error(
            "body", f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise field_error("body", f"nests deeper than {codec.MAX_DEPTH} levels") from None
    except ValueError:
        # int() refuses numbers of more than sys.get_int_max_str_digits() (4300) digits.
        raise field_error("body", "is not valid JSON: a number has too many digits") from None


def _reject_constant(name: str) -> Any:
    raise field_error("body", f"is not valid JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise field_error("body", f"is not valid JSON: {text[:40]} is too large for a number")
    return value
