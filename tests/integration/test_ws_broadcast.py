"""ws_broadcast through its real handler: events ingested on moto, their stream records read back with
get_records and handed over in Lambda's shape, posted to moto's @connections (or to a fake one where
410, 429 and 500 are needed: moto's always succeeds)."""

from __future__ import annotations

import base64
import json
import os
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from claude_events import codec, dependencies
from claude_events.connections import Connection, ConnectionStore, EventFilter
from claude_events.messages import MAX_MESSAGE_BYTES
from claude_events.stream import PoisonRecord, live_event
from local.lambda_runtime import LambdaContext
from tests.support.handlers import function_module, post_events
from tests.support.websocket import (
    FakeManagementClient,
    StreamReader,
    gone,
    moto_messages,
    moto_recipients,
    server_error,
    throttled,
    ws_event,
)

pytestmark = pytest.mark.usefixtures("connections_table")

EVENTS = os.environ["EVENTS_TABLE_NAME"]
CONNECTIONS = os.environ["CONNECTIONS_TABLE_NAME"]
KB = 1024


@pytest.fixture
def stream(events_table) -> StreamReader:
    return StreamReader(events_table)


@pytest.fixture
def broadcast(stream) -> Any:
    module = function_module("ws_broadcast")

    def handle(records: list[dict[str, Any]]) -> dict[str, Any]:
        return module.lambda_handler(stream.lambda_event(records), LambdaContext(function_name="ws-broadcast"))  # type: ignore[no-any-return]

    return handle


@pytest.fixture
def management(dynamodb, monkeypatch) -> FakeManagementClient:
    """A fake @connections client in place of the one dependencies.py builds."""
    fake = FakeManagementClient()
    monkeypatch.setattr(dependencies, "management_client", lambda *args, **kwargs: fake)
    dependencies.broadcaster.cache_clear()
    return fake


@pytest.fixture
def connections(dynamodb) -> ConnectionStore:
    # Connected a minute ago: established, so a 410 from one of them means it is stale.
    return ConnectionStore(dynamodb, CONNECTIONS, wall_clock=lambda: time.time() - 60)


def connected(store: ConnectionStore, connection_id: str, session_id: str | None = None, *names: str) -> None:
    store.save(Connection(connection_id, EventFilter(session_id, frozenset(names))))


# Recent enough to be inside the retention; fixed, so that writing an event again rewrites the same item.
BASE_TIME = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def new_event(index: int, *, session: str = "s1", name: str = "PreToolUse", data_bytes: int = 0) -> dict[str, Any]:
    moment = BASE_TIME + timedelta(seconds=index)
    return {
        "eventId": f"ev-{index:05d}",
        "timestamp": moment.isoformat().replace("+00:00", "Z"),
        "event": name,
        "sessionId": session,
        "data": {"tool_name": "Bash", "tool_response": {"stdout": "x" * data_bytes}},
    }


def ingest(*events: dict[str, Any]) -> None:
    for start in range(0, len(events), 20):
        created = post_events({"events": list(events[start : start + 20])})
        assert created.status == 201, created.body


def record_ids(records: list[dict[str, Any]]) -> list[str]:
    """The eventIds the INSERT records carry, in stream order."""
    return [
        json.loads(codec.text_of_item(record["dynamodb"]["NewImage"]))["eventId"]
        for record in records
        if record["eventName"] == "INSERT"
    ]


def event_ids(messages: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for message in messages:
        if message["type"] == "claude:event":
            found.append(message["event"]["eventId"])
        elif message["type"] == "claude:events":
            found.extend(item["eventId"] for item in message["events"])
    return found


def sequence_numbers(records: list[dict[str, Any]]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in records]


def failures(response: dict[str, Any]) -> list[str]:
    return sorted(item["itemIdentifier"] for item in response["batchItemFailures"])


def stored_connections(dynamodb) -> list[str]:
    return sorted(item["connectionId"]["S"] for item in dynamodb.scan(TableName=CONNECTIONS)["Items"])


def test_new_events_reach_the_connections_whose_filters_match(connections, stream, broadcast):
    # GIVEN three dashboards: everything, session s1 only, Stop events only
    connected(connections, "everything")
    connected(connections, "session-1", "s1")
    connected(connections, "stops", None, "Stop")

    # WHEN three events are ingested and their stream records broadcast as one batch
    ingest(new_event(0, session="s1"), new_event(1, session="s2"), new_event(2, session="s1"))
    records = stream.read()
    response = broadcast(records)

    # THEN each dashboard got one message with the events it asked for, in stream order; nothing failed
    assert response == {"batchItemFailures": []}
    order = record_ids(records)
    assert sorted(order) == ["ev-00000", "ev-00001", "ev-00002"]
    (everything,) = moto_messages("everything")
    assert everything["type"] == "claude:events"
    assert event_ids([everything]) == order
    (session,) = moto_messages("session-1")
    assert event_ids([session]) == [event_id for event_id in order if event_id != "ev-00001"]
    assert moto_recipients() == {"everything", "session-1"}


def test_one_new_event_is_a_claude_event_message(connections, stream, broadcast):
    connected(connections, "c1")
    ingest(new_event(0, name="Stop"))

    broadcast(stream.read())

    (message,) = moto_messages("c1")
    assert message["type"] == "claude:event"
    assert message["event"]["eventId"] == "ev-00000"
    assert message["event"]["event"] == "Stop"
    assert message["event"]["data"]["tool_name"] == "Bash"


def test_a_retried_write_and_a_ttl_removal_are_not_broadcast(dynamodb, connections, stream, broadcast):
    # GIVEN a connection, and an event whose INSERT has already been broadcast
    connected(connections, "c1")
    ingest(new_event(0))
    (insert,) = stream.read()
    assert insert["eventName"] == "INSERT"
    broadcast([insert])
    assert len(moto_messages("c1")) == 1

    # WHEN the same event is written again (a MODIFY) and then expires (a REMOVE by the TTL service)
    ingest(new_event(0))
    dynamodb.delete_item(TableName=EVENTS, Key=insert["dynamodb"]["Keys"])
    modify, remove = stream.read()
    assert (modify["eventName"], remove["eventName"]) == ("MODIFY", "REMOVE")
    remove["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert stream.lambda_event([remove])["Records"][0]["userIdentity"]["principalId"] == "dynamodb.amazonaws.com"

    # AND those records reach the handler although the stream's INSERT-only filter would drop them
    response = broadcast([modify, remove])

    # THEN nothing more is posted and nothing failed
    assert response == {"batchItemFailures": []}
    assert len(moto_messages("c1")) == 1


def test_only_the_inserts_of_a_mixed_batch_are_broadcast(dynamodb, connections, stream, broadcast):
    # GIVEN one batch holding an insert, its retried write, another insert, and the first one's expiry
    connected(connections, "c1")
    ingest(new_event(0))
    ingest(new_event(0), new_event(1))
    records = stream.read()
    dynamodb.delete_item(TableName=EVENTS, Key=records[0]["dynamodb"]["Keys"])
    records += stream.read()
    assert sorted(record["eventName"] for record in records) == ["INSERT", "INSERT", "MODIFY", "REMOVE"]

    # WHEN the whole batch is broadcast
    response = broadcast(records)

    # THEN one message carries the two new events, once each
    assert response == {"batchItemFailures": []}
    (message,) = moto_messages("c1")
    assert message["type"] == "claude:events"
    assert sorted(event_ids([message])) == ["ev-00000", "ev-00001"]


def test_poison_records_are_reported_and_the_others_still_broadcast(dynamodb, connections, stream, broadcast):
    # GIVEN a connection, two good events, and between them items no event can be read from
    connected(connections, "c1")
    ingest(new_event(0))
    poison_items: list[dict[str, Any]] = [
        {"doc": {"S": codec.dumps(new_event(90))}, "event": {"S": "Stop"}},  # no sessionId
        {"docz": {"B": b"not zlib at all"}, "sessionId": {"S": "s1"}, "event": {"S": "Stop"}},
        {"doc": {"S": "{not json"}, "sessionId": {"S": "s1"}, "event": {"S": "Stop"}},
        {"doc": {"S": "[1, 2, 3]"}, "sessionId": {"S": "s1"}, "event": {"S": "Stop"}},
        {"sessionId": {"S": "s1"}, "event": {"S": "Stop"}},  # no document at all
    ]
    for index, item in enumerate(poison_items):
        key = {"pk": {"S": "EV#0"}, "sk": {"S": f"2026-01-01T00:00:00.000000Z#poison-{index}"}}
        dynamodb.put_item(TableName=EVENTS, Item={**key, **item})
    ingest(new_event(1))
    records = stream.read()
    assert len(records) == 7

    # WHEN the batch is broadcast
    response = broadcast(records)

    # THEN exactly the poison records are reported, and the good events were still delivered
    assert failures(response) == sorted(sequence_numbers(records[1:6]))
    assert event_ids(moto_messages("c1")) == ["ev-00000", "ev-00001"]


def test_a_batch_of_only_poison_records_reports_each_of_them(dynamodb, connections, stream, broadcast):
    # GIVEN a batch in which no record can be read
    connected(connections, "c1")
    for index in range(2):
        key = {"pk": {"S": "EV#0"}, "sk": {"S": f"2026-01-01T00:00:00.000000Z#poison-{index}"}}
        dynamodb.put_item(TableName=EVENTS, Item={**key, "doc": {"S": "{broken"}})
    records = stream.read()

    # WHEN it is broadcast
    response = broadcast(records)

    # THEN each record is reported failed (for the on-failure queue), rather than the invocation erroring
    assert failures(response) == sorted(sequence_numbers(records))
    assert moto_recipients() == set()


def test_an_undecodable_compressed_document_is_a_poison_record():
    with pytest.raises(PoisonRecord):
        live_event({"docz": "bm90IHpsaWI=", "sessionId": "s1", "event": "Stop"})  # base64 of "not zlib"


def test_a_compressed_document_is_read_from_its_base64_form():
    text = codec.dumps(new_event(0, data_bytes=5000))
    image = {"docz": base64.b64encode(zlib.compress(text.encode())).decode(), "sessionId": "s1", "event": "PreToolUse"}

    assert live_event(image).json_text == text


def test_unreadable_connections_fail_the_batch_for_retry(dynamodb, connections, stream, broadcast):
    # GIVEN inserts and a retried write, and a connections table that cannot be read
    ingest(new_event(0), new_event(1))
    ingest(new_event(1))
    records = stream.read()
    assert [record["eventName"] for record in records] == ["INSERT", "INSERT", "MODIFY"]
    dynamodb.delete_table(TableName=CONNECTIONS)

    # WHEN the batch is broadcast
    response = broadcast(records)

    # THEN the inserts are reported failed, to be retried; the MODIFY, never broadcast, is not
    assert failures(response) == sorted(sequence_numbers(records[:2]))


def test_every_post_failing_fails_the_batch_for_retry(connections, stream, broadcast, management):
    # GIVEN connections whose posts all answer 500
    for connection_id in ("c1", "c2", "c3"):
        connected(connections, connection_id)
        management.always[connection_id] = server_error()
    ingest(new_event(0), new_event(1))
    records = stream.read()

    # WHEN the batch is broadcast
    response = broadcast(records)

    # THEN every record is reported failed
    assert failures(response) == sorted(sequence_numbers(records))
    assert management.sent == []


def test_one_failing_connection_does_not_fail_the_batch(connections, stream, broadcast, management, dynamodb):
    for connection_id in ("c1", "broken", "c3"):
        connected(connections, connection_id)
    management.always["broken"] = server_error()
    ingest(new_event(0))

    response = broadcast(stream.read())

    assert response == {"batchItemFailures": []}
    assert management.recipients() == {"c1", "c3"}
    assert stored_connections(dynamodb) == ["broken", "c1", "c3"]


def test_410_deletes_exactly_the_stale_connection(connections, stream, broadcast, management, dynamodb):
    # GIVEN three connections, one of them closed without a $disconnect
    for connection_id in ("alive-1", "stale", "alive-2"):
        connected(connections, connection_id)
    management.always["stale"] = gone()
    ingest(new_event(0), new_event(1))

    # WHEN a batch is broadcast
    response = broadcast(stream.read())

    # THEN the stale connection's record, and only that, is deleted; the others got the events
    assert response == {"batchItemFailures": []}
    assert stored_connections(dynamodb) == ["alive-1", "alive-2"]
    assert management.recipients() == {"alive-1", "alive-2"}
    assert sorted(event_ids(management.messages("alive-1"))) == ["ev-00000", "ev-00001"]


def test_410_from_a_connection_still_opening_keeps_it(dynamodb, stream, broadcast, management):
    # GIVEN a connection whose $connect has just returned: API Gateway answers 410 until it is open
    ConnectionStore(dynamodb, CONNECTIONS).save(Connection("opening", EventFilter()))
    management.always["opening"] = gone()
    ingest(new_event(0))

    # WHEN a batch is broadcast in that moment
    response = broadcast(stream.read())

    # THEN the connection is kept, so it gets the next events once open
    assert response == {"batchItemFailures": []}
    assert stored_connections(dynamodb) == ["opening"]


def test_429_is_retried_with_backoff_then_sent(connections, stream, broadcast, management):
    connected(connections, "busy")
    management.script["busy"] = [throttled(), throttled()]
    ingest(new_event(0))

    response = broadcast(stream.read())

    assert response == {"batchItemFailures": []}
    assert management.attempts["busy"] == 3
    assert event_ids(management.messages("busy")) == ["ev-00000"]


def test_a_batch_too_big_for_one_message_is_split(connections, stream, broadcast, management):
    # GIVEN a connection and 30 new events of 20 KB (stored compressed: `docz`, base64 in Lambda's JSON)
    connected(connections, "c1")
    ingest(*(new_event(index, data_bytes=20 * KB) for index in range(30)))
    records = stream.read()
    assert all("docz" in record["dynamodb"]["NewImage"] for record in records)

    # WHEN the batch is broadcast
    response = broadcast(records)

    # THEN several messages, each within the limit, carry all 30 events once, in stream order, uncut
    assert response == {"batchItemFailures": []}
    raw = management.raw("c1")
    assert len(raw) > 1
    assert all(len(message) <= MAX_MESSAGE_BYTES for message in raw)
    assert event_ids(management.messages("c1")) == record_ids(records)
    assert not any(item.get("truncated") for message in management.messages("c1") for item in message["events"])


def test_a_300_kb_event_goes_out_truncated(connections, stream, broadcast, management):
    connected(connections, "c1")
    ingest(new_event(0, data_bytes=300 * KB))

    response = broadcast(stream.read())

    assert response == {"batchItemFailures": []}
    (raw,) = management.raw("c1")
    assert len(raw) <= MAX_MESSAGE_BYTES
    message = json.loads(raw)
    assert message["type"] == "claude:event"
    assert message["event"]["eventId"] == "ev-00000"
    assert message["event"]["truncated"] is True


def test_expired_connection_records_are_not_posted_to(dynamodb, connections, stream, broadcast):
    # GIVEN a live connection and a record past its TTL that DynamoDB has not removed yet
    connected(connections, "live")
    dynamodb.put_item(
        TableName=CONNECTIONS,
        Item={"connectionId": {"S": "expired"}, "ttl": {"N": str(int(datetime.now(UTC).timestamp()) - 60)}},
    )
    ingest(new_event(0))

    broadcast(stream.read())

    assert moto_recipients() == {"live"}


def test_subscribe_changes_what_a_later_broadcast_delivers(connections, stream, broadcast):
    # GIVEN a dashboard connected for session s1
    connected(connections, "c1", "s1")
    ws = function_module("ws_connect")
    context = LambdaContext(function_name="ws-connect")
    ingest(new_event(0, session="s1"), new_event(1, session="s2"))
    broadcast(stream.read())
    assert event_ids(moto_messages("c1")) == ["ev-00000"]

    # WHEN it subscribes to session s2's Stop events
    body = json.dumps({"action": "subscribe", "sessionId": "s2", "events": ["Stop"]})
    assert ws.lambda_handler(ws_event("subscribe", "c1", body=body), context) == {"statusCode": 200}

    # THEN the next batch brings it only those
    ingest(
        new_event(2, session="s1", name="Stop"),
        new_event(3, session="s2", name="Stop"),
        new_event(4, session="s2", name="PreToolUse"),
    )
    broadcast(stream.read())
    messages = moto_messages("c1")
    assert [message["type"] for message in messages] == ["claude:event", "claude:subscribed", "claude:event"]
    assert messages[1]["filter"] == {"sessionId": "s2", "events": ["Stop"]}
    assert event_ids(messages) == ["ev-00000", "ev-00003"]
