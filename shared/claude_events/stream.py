"""Events table stream records -> the new events to broadcast."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel

from claude_events import codec
from claude_events.broadcast import LiveEvent


class PoisonRecord(ValueError):
    """A record that can never be broadcast; reported failed, it ends in the on-failure queue."""


@dataclass
class StreamBatch:
    """Collects the new events of one stream batch, remembering which record each came from."""

    events: list[LiveEvent] = field(default_factory=list)
    sequence_numbers: list[str] = field(default_factory=list)

    def collect(self, record: DynamoDBStreamRecordModel) -> str:
        # Only new events are broadcast: a MODIFY is a retried write, a REMOVE a TTL expiry.
        if record.eventName != "INSERT":
            return "skipped"
        image = record.dynamodb.NewImage
        if not isinstance(image, dict):
            raise PoisonRecord("record has no new image")
        self.events.append(live_event(image))
        self.sequence_numbers.append(record.dynamodb.SequenceNumber)
        return "collected"

    def failure_items(self) -> list[dict[str, str]]:
        return [{"itemIdentifier": number} for number in self.sequence_numbers]


def live_event(image: dict[str, Any]) -> LiveEvent:
    """The event in a deserialised stream image (as Powertools' stream model gives it)."""
    try:
        text = codec.text_from_image(image)
        document = json.loads(text)
        session_id, event_name = str(image["sessionId"]), str(image["event"])
    except (KeyError, ValueError, TypeError, zlib.error) as error:
        raise PoisonRecord(f"undecodable event document: {type(error).__name__}") from None
    if not isinstance(document, dict):
        raise PoisonRecord("event document is not a JSON object")
    return LiveEvent(session_id, event_name, text)
