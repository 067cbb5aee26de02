"""Storage faults through the real ingest handler: only what was stored is acknowledged.

The DynamoDB store runs against moto behind a client that can throttle calls or leave chosen items
unprocessed, with a clock that moves only when the store backs off (the write deadline is real).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError

from claude_events import codec, dependencies
from claude_events.repository import DynamoEventStore
from tests.support.fakes import BackoffClock, InMemoryEventStore
from tests.support.handlers import get_events, post_events

TABLE = os.environ["EVENTS_TABLE_NAME"]

Requests = list[dict[str, Any]]


def event_id_of(item: dict[str, Any]) -> str:
    return str(item["sk"]["S"]).rsplit("#", 1)[1]


class FaultyDynamoDB:
    """moto's DynamoDB, except for the calls it throttles and the items it leaves unprocessed."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.throttle: Callable[[Requests], bool] = lambda requests: False
        self.leave_unprocessed: Callable[[dict[str, Any]], bool] = lambda item: False
        self.fail_with: str | None = None
        self.write_calls = 0

    def batch_write_item(self, RequestItems: dict[str, Requests]) -> dict[str, Any]:
        self.write_calls += 1
        requests = RequestItems[TABLE]
        if self.fail_with:
            raise ClientError(
                {"Error": {"Code": self.fail_with, "Message": "item sk-secret-x is bad"}}, "BatchWriteItem"
            )
        if self.throttle(requests):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}},
                "BatchWriteItem",
            )
        left = [request for request in requests if self.leave_unprocessed(request["PutRequest"]["Item"])]
        written = [request for request in requests if request not in left]
        if written:
            self.real.batch_write_item(RequestItems={TABLE: written})
        return {"UnprocessedItems": {TABLE: left} if left else {}}

    def query(self, **request: Any) -> dict[str, Any]:
        return self.real.query(**request)  # type: ignore[no-any-return]


@pytest.fixture
def faulty(dynamodb, events_table) -> Iterator[FaultyDynamoDB]:
    client = FaultyDynamoDB(dynamodb)
    clock = BackoffClock()
    dependencies.use_event_store(DynamoEventStore(cast(Any, client), events_table, 4, sleep=clock.sleep, clock=clock))
    yield client
    dependencies.use_event_store(None)


@pytest.fixture
def stored_ids(dynamodb, events_table) -> Callable[[], list[str]]:
    """The eventIds really in the table, whatever the handler said."""

    def read() -> list[str]:
        items = dynamodb.scan(TableName=events_table)["Items"]
        return sorted(json.loads(codec.text_of_item(item))["eventId"] for item in items)

    return read


def events(count: int, session: str = "faults") -> list[dict[str, Any]]:
    return [
        {
            "eventId": f"e{index:02d}",
            "timestamp": f"2026-01-26T10:30:{index:02d}Z",
            "event": "PostToolUse",
            "sessionId": session,
            "data": {"n": index},
        }
        for index in range(count)
    ]


def assert_unavailable(answer) -> dict[str, Any]:
    assert answer.status == 503, answer.body
    assert answer.headers["Retry-After"] == "2"
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert body["error"] == "storage_unavailable"
    assert body["message"]
    return body  # type: ignore[no-any-return]


def test_storage_that_keeps_throttling_is_a_503_with_retry_after(faulty, stored_ids):
    # GIVEN storage that throttles every write
    faulty.throttle = lambda requests: True
    [posted] = events(1)

    # WHEN an event is posted
    answer = post_events(posted)

    # THEN the client is told to retry later, the event is named as not stored, and it is not
    body = assert_unavailable(answer)
    assert body["stored"] == []
    assert body["failed"] == [{"index": 0, "eventId": "e00"}]
    assert body["message"] == "1 of 1 events were not stored; retry them"
    assert faulty.write_calls > 3  # it retried with backoff until the deadline
    assert stored_ids() == []


def test_partial_batch_names_exactly_the_indices_not_stored(faulty, stored_ids):
    # GIVEN storage that never takes events 1 and 3 of a batch of 5
    faulty.leave_unprocessed = lambda item: event_id_of(item) in {"e01", "e03"}

    # WHEN the batch is posted
    answer = post_events({"events": events(5)})

    # THEN the answer names exactly those, and lists the rest as stored
    body = assert_unavailable(answer)
    assert body["failed"] == [{"index": 1, "eventId": "e01"}, {"index": 3, "eventId": "e03"}]
    assert body["stored"] == ["e00", "e02", "e04"]
    assert body["message"] == "2 of 5 events were not stored; retry them"
    # AND nothing was acknowledged that was not stored, nor stored that was not acknowledged
    assert stored_ids() == ["e00", "e02", "e04"]
    assert [event["eventId"] for event in get_events("sessionId=faults").json()["events"]] == ["e00", "e02", "e04"]


def test_throttled_second_chunk_fails_only_its_events(faulty, stored_ids):
    # GIVEN 30 events (two BatchWriteItem calls) and storage that throttles any call holding e27
    faulty.throttle = lambda requests: any(event_id_of(r["PutRequest"]["Item"]) == "e27" for r in requests)

    answer = post_events(events(30))

    body = assert_unavailable(answer)
    assert [failure["index"] for failure in body["failed"]] == list(range(25, 30))
    assert body["stored"] == [f"e{index:02d}" for index in range(25)]
    assert stored_ids() == body["stored"]


def test_short_throttling_is_absorbed(faulty, stored_ids):
    # GIVEN storage that throttles the first two writes only
    throttled = iter([True, True])
    faulty.throttle = lambda requests: next(throttled, False)

    answer = post_events(events(3))

    # THEN the client never sees it
    assert answer.status == 201, answer.body
    assert answer.json()["count"] == 3
    assert stored_ids() == ["e00", "e01", "e02"]


def test_client_retry_after_a_503_stores_each_event_once(faulty, stored_ids):
    # GIVEN a batch that was partly stored
    faulty.leave_unprocessed = lambda item: event_id_of(item) == "e02"
    assert post_events(events(4)).status == 503

    # WHEN storage recovers and the client re-posts the whole batch, as told
    faulty.leave_unprocessed = lambda item: False
    answer = post_events(events(4))

    # THEN every event is stored exactly once
    assert answer.status == 201, answer.body
    assert stored_ids() == ["e00", "e01", "e02", "e03"]
    assert get_events("sessionId=faults").json()["count"] == 4


def test_duplicate_of_an_event_not_stored_is_not_stored_either(faulty, stored_ids):
    # GIVEN a batch holding one event twice (same id and time), which storage will not take
    batch = events(3)
    batch.append(dict(batch[0]))
    faulty.leave_unprocessed = lambda item: event_id_of(item) == "e00"

    body = assert_unavailable(post_events(batch))

    # THEN both positions are named as not stored
    assert body["failed"] == [{"index": 0, "eventId": "e00"}, {"index": 3, "eventId": "e00"}]
    assert body["stored"] == ["e01", "e02"]
    assert stored_ids() == ["e01", "e02"]


def test_store_refusing_every_write_is_a_503_for_the_whole_batch():
    # GIVEN a store (the in-memory fake) that refuses writes
    store = InMemoryEventStore()
    store.refuse_writes = True
    dependencies.use_event_store(store)
    try:
        answer = post_events(events(2))
    finally:
        dependencies.use_event_store(None)

    body = assert_unavailable(answer)
    assert body["stored"] == []
    assert body["failed"] == [{"index": 0, "eventId": "e00"}, {"index": 1, "eventId": "e01"}]
    assert store.items == {}


def test_storage_error_that_is_not_throttling_is_a_generic_500(faulty, stored_ids):
    # GIVEN storage that fails with an error retrying cannot cure
    faulty.fail_with = "ValidationException"

    answer = post_events(events(1))

    # THEN the answer is a JSON 500 that does not repeat the storage error, and nothing is stored
    assert answer.status == 500
    assert answer.json() == {"error": "internal_error", "message": "the server failed; retry later"}
    assert "Retry-After" not in answer.headers
    assert faulty.write_calls == 1
    assert stored_ids() == []
