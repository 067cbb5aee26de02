"""Batched idempotent writes against a stubbed DynamoDB client, and IngestService on a fake store."""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from claude_events import codec, keys
from claude_events.errors import RequestError
from claude_events.ingest import IngestService
from claude_events.received import Received
from claude_events.repository import BATCH_WRITE_LIMIT, DynamoEventStore
from claude_events.settings import IngestSettings
from tests.support.fakes import InMemoryEventStore

TABLE = "events-unit"


class FakeClock:
    """Monotonic time that moves only when the store sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def item(number: int, session: str = "s") -> dict[str, Any]:
    return {
        "pk": {"S": keys.partition_key(number % 4)},
        "sk": {"S": f"2026-01-26T10:30:00.000000Z#id-{number:04d}"},
        "sessionId": {"S": session},
        "event": {"S": "Stop"},
        "ttl": {"N": "1800000000"},
        "doc": {"S": json.dumps({"n": number})},
    }


def puts(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {TABLE: [{"PutRequest": {"Item": entry}} for entry in items]}


def unprocessed(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"UnprocessedItems": puts(items)} if items else {"UnprocessedItems": {}}


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def stubbed(clock):
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        store = DynamoEventStore(client, TABLE, shard_count=4, sleep=clock.sleep, clock=clock)
        yield store, stubber


def test_one_batch_is_stored_in_one_call(stubbed, clock):
    store, stubber = stubbed
    items = [item(n) for n in range(3)]
    stubber.add_response("batch_write_item", unprocessed([]), {"RequestItems": puts(items)})

    outcome = store.put_items(items, deadline=clock.now + 5)

    assert outcome.stored == [0, 1, 2]
    assert outcome.failed == []
    assert outcome.throttled_attempts == 0
    assert clock.sleeps == []
    stubber.assert_no_pending_responses()


def test_more_than_25_items_go_in_chunks(stubbed, clock):
    store, stubber = stubbed
    items = [item(n) for n in range(BATCH_WRITE_LIMIT + 5)]
    stubber.add_response("batch_write_item", unprocessed([]), {"RequestItems": puts(items[:BATCH_WRITE_LIMIT])})
    stubber.add_response("batch_write_item", unprocessed([]), {"RequestItems": puts(items[BATCH_WRITE_LIMIT:])})

    outcome = store.put_items(items, deadline=clock.now + 5)

    assert outcome.stored == list(range(BATCH_WRITE_LIMIT + 5))
    assert outcome.failed == []
    stubber.assert_no_pending_responses()


def test_unprocessed_items_are_retried_until_stored(stubbed, clock):
    # GIVEN DynamoDB leaves two items, then one, then none unprocessed
    store, stubber = stubbed
    items = [item(n) for n in range(4)]
    stubber.add_response("batch_write_item", unprocessed([items[1], items[3]]), {"RequestItems": puts(items)})
    stubber.add_response("batch_write_item", unprocessed([items[3]]), {"RequestItems": puts([items[1], items[3]])})
    stubber.add_response("batch_write_item", unprocessed([]), {"RequestItems": puts([items[3]])})

    # WHEN the items are written
    outcome = store.put_items(items, deadline=clock.now + 5)

    # THEN only the leftovers are re-sent, with growing backoff, until every one is stored
    assert outcome.stored == [0, 1, 2, 3]
    assert outcome.failed == []
    assert outcome.throttled_attempts == 2
    assert len(clock.sleeps) == 2
    assert 0.025 <= clock.sleeps[0] <= 0.075
    assert 0.05 <= clock.sleeps[1] <= 0.15
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]
)
def test_throttling_error_is_retried(stubbed, clock, code):
    store, stubber = stubbed
    items = [item(n) for n in range(2)]
    stubber.add_client_error("batch_write_item", service_error_code=code, http_status_code=400)
    stubber.add_client_error("batch_write_item", service_error_code=code, http_status_code=400)
    stubber.add_response("batch_write_item", unprocessed([]), {"RequestItems": puts(items)})

    outcome = store.put_items(items, deadline=clock.now + 5)

    assert outcome.stored == [0, 1]
    assert outcome.failed == []
    assert outcome.throttled_attempts == 2
    stubber.assert_no_pending_responses()


def test_other_errors_are_not_retried(stubbed, clock):
    store, stubber = stubbed
    stubber.add_client_error("batch_write_item", service_error_code="ValidationException", http_status_code=400)

    with pytest.raises(ClientError, match="ValidationException"):
        store.put_items([item(0)], deadline=clock.now + 5)


def test_deadline_reached_reports_failed_indices(stubbed, clock):
    # GIVEN storage that never takes items 1 and 2 (and takes 0 and 3 at once)
    store, stubber = stubbed
    items = [item(n) for n in range(4)]
    stubber.add_response("batch_write_item", unprocessed(items[1:3]), {"RequestItems": puts(items)})
    for _ in range(20):
        stubber.add_response("batch_write_item", unprocessed(items[1:3]), {"RequestItems": puts(items[1:3])})

    # WHEN it is written with a one-second deadline
    outcome = store.put_items(items, deadline=clock.now + 1.0)

    # THEN the store gives up in time and names exactly the items not stored
    assert outcome.stored == [0, 3]
    assert outcome.failed == [1, 2]
    assert clock.now <= 1000.0 + 1.0
    assert outcome.throttled_attempts >= 3


@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999])
def test_backoff_never_sleeps_past_the_deadline(stubbed, clock, monkeypatch, jitter):
    # GIVEN storage that never takes the item, and the jitter at its low, middle and high end
    store, stubber = stubbed
    monkeypatch.setattr("claude_events.repository.random.random", lambda: jitter)
    for _ in range(80):
        stubber.add_response("batch_write_item", unprocessed([item(0)]), None)

    # WHEN it is written with deadlines that fall at many points of the backoff schedule
    for budget in (0.1, 0.3, 0.7, 1.0, 1.9, 2.5):
        start = clock.now
        outcome = store.put_items([item(0)], deadline=start + budget)

        # THEN the store gives up before the deadline, never after it
        assert outcome.failed == [0]
        assert clock.now < start + budget


def test_deadline_reached_while_throttled(stubbed, clock):
    store, stubber = stubbed
    for _ in range(20):
        stubber.add_client_error(
            "batch_write_item", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
        )

    outcome = store.put_items([item(0), item(1)], deadline=clock.now + 0.5)

    assert outcome.stored == []
    assert outcome.failed == [0, 1]


def test_chunk_throttled_while_another_is_stored(stubbed, clock):
    store, stubber = stubbed
    items = [item(n) for n in range(BATCH_WRITE_LIMIT + 2)]
    stubber.add_response("batch_write_item", unprocessed([]), {"RequestItems": puts(items[:BATCH_WRITE_LIMIT])})
    for _ in range(20):
        stubber.add_client_error("batch_write_item", service_error_code="ThrottlingException", http_status_code=400)

    outcome = store.put_items(items, deadline=clock.now + 0.5)

    assert outcome.stored == list(range(BATCH_WRITE_LIMIT))
    assert outcome.failed == [BATCH_WRITE_LIMIT, BATCH_WRITE_LIMIT + 1]


def test_duplicate_keys_in_one_batch_are_written_once(stubbed, clock):
    # GIVEN a batch where items 0 and 2 have one key (a client retry inside the batch)
    store, stubber = stubbed
    first, other, again = item(0), item(1), {**item(0), "doc": {"S": '{"n":"again"}'}}
    # BatchWriteItem refuses two puts of one key: only the later one is sent
    stubber.add_response("batch_write_item", unprocessed([]), {"RequestItems": puts([other, again])})

    outcome = store.put_items([first, other, again], deadline=clock.now + 5)

    # THEN every position is reported stored
    assert outcome.stored == [0, 1, 2]
    assert outcome.failed == []
    stubber.assert_no_pending_responses()


def test_duplicate_of_a_failed_item_is_failed_too(stubbed, clock):
    store, stubber = stubbed
    first, other, again, last = item(0), item(1), item(0), item(0)
    for _ in range(20):
        stubber.add_response("batch_write_item", unprocessed([last]), None)

    outcome = store.put_items([first, other, again, last], deadline=clock.now + 0.3)

    # The chain 0 -> 2 -> 3 resolves to 3; as 3 failed, so did 0 and 2
    assert outcome.stored == [1]
    assert outcome.failed == [0, 2, 3]


# IngestService on the in-memory store -------------------------------------------------

RECEIVED = Received(
    at=datetime(2026, 1, 26, 10, 30, tzinfo=UTC), source_ip="203.0.113.9", headers={"x-claude-machine": "m1"}
)


def settings(**overrides: str) -> IngestSettings:
    values = {"EVENTS_TABLE_NAME": TABLE, "SHARD_COUNT": "4", "RETENTION_DAYS": "30", **overrides}
    return IngestSettings.from_env(values)


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def event(number: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": f"2026-01-26T10:29:{number:02d}Z",
        "event": "PreToolUse",
        "sessionId": "abc",
        "eventId": f"id-{number}",
        "data": {"n": number},
        **extra,
    }


def test_ingest_service_stores_one_event():
    # GIVEN the service on an in-memory store
    store = InMemoryEventStore()
    service = IngestService(store, settings())

    # WHEN one event is ingested
    result = service.ingest(body(event(7)), RECEIVED)

    # THEN one item is stored under keys from (timestamp, eventId), with its TTL and document
    assert result.complete
    assert result.batch is False
    assert len(store.items) == 1
    stored = next(iter(store.items.values()))
    assert stored["pk"]["S"] == keys.partition_key(keys.shard_of("id-7", 4))
    assert stored["sk"]["S"] == "2026-01-26T10:29:07.000000Z#id-7"
    assert stored["ttl"]["N"] == str(int(RECEIVED.at.timestamp()) + 30 * 86_400)
    assert stored["sessionId"] == {"S": "abc"}
    assert stored["event"] == {"S": "PreToolUse"}
    document = json.loads(codec.text_of_item(stored))
    assert document["data"] == {"n": 7}
    assert document["source"] == {"machine": "m1", "ip": "203.0.113.9"}
    assert json.loads(result.body()) == {"event": document}


def test_ingest_service_stores_a_batch_in_both_batch_shapes():
    for posted in ([event(1), event(2)], {"events": [event(1), event(2)]}):
        store = InMemoryEventStore()

        result = IngestService(store, settings()).ingest(body(posted), RECEIVED)

        answer = json.loads(result.body())
        assert answer["count"] == 2
        assert [stored["eventId"] for stored in answer["events"]] == ["id-1", "id-2"]
        assert len(store.items) == 2


def test_ingest_service_reposting_keeps_one_item():
    store = InMemoryEventStore()
    service = IngestService(store, settings())

    service.ingest(body(event(1)), RECEIVED)
    service.ingest(body(event(1)), RECEIVED)

    assert len(store.items) == 1


def test_ingest_service_reports_what_was_not_stored():
    # GIVEN a store that refuses every write
    store = InMemoryEventStore()
    store.refuse_writes = True

    result = IngestService(store, settings()).ingest(body([event(1), event(2)]), RECEIVED)

    # THEN the result is incomplete and its body names every event not stored
    assert not result.complete
    assert json.loads(result.body()) == {
        "error": "storage_unavailable",
        "message": "2 of 2 events were not stored; retry them",
        "stored": [],
        "failed": [{"index": 0, "eventId": "id-1"}, {"index": 1, "eventId": "id-2"}],
    }


def test_ingest_service_refuses_a_body_over_the_limit_before_parsing():
    service = IngestService(InMemoryEventStore(), settings(MAX_BODY_BYTES="2048"))

    with pytest.raises(RequestError) as raised:
        service.ingest(b"x" * 2049, RECEIVED)

    assert raised.value.status == 413
    assert raised.value.body()["limit"] == 2048


def test_ingest_service_stores_nothing_when_one_event_is_bad():
    store = InMemoryEventStore()

    with pytest.raises(RequestError) as raised:
        IngestService(store, settings()).ingest(body([event(1), event(2, sessionId="bad id")]), RECEIVED)

    assert [problem.field for problem in raised.value.problems] == ["events[1].sessionId"]
    assert store.items == {}


def test_ingest_service_strict_mode_from_settings():
    service = IngestService(InMemoryEventStore(), settings(STRICT_EVENT_NAMES="true"))

    with pytest.raises(RequestError) as raised:
        service.ingest(body(event(1, event="MadeUpHook")), RECEIVED)

    assert [problem.field for problem in raised.value.problems] == ["event"]


def test_ingest_service_marks_truncated_events():
    store = InMemoryEventStore()

    rng = random.Random(5)  # noqa: S311 - test data, not secrets
    incompressible = "".join(rng.choices(string.ascii_letters + string.digits, k=900_000))

    result = IngestService(store, settings()).ingest(body(event(1, data={"big": incompressible})), RECEIVED)

    assert result.events[0].truncated is True
    assert json.loads(result.body())["event"]["truncated"] is True
    stored = next(iter(store.items.values()))
    assert "doc" not in stored
    assert len(stored["docz"]["B"]) <= codec.MAX_DOC_BYTES
    assert codec.decode(stored["docz"])["truncated"] is True
