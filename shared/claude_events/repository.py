"""Data access for the events table, behind a small class that takes its DynamoDB client."""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as EndpointUnreachable

from claude_events import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]

BATCH_WRITE_LIMIT = 25
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


@dataclass
class WriteOutcome:
    """Which of the items handed to `put_items` were stored, by their position."""

    stored: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    throttled_attempts: int = 0


@dataclass(frozen=True)
class HistoryQuery:
    """Newest-first read bounds on the sort key: lower inclusive, upper exclusive."""

    session_id: str | None
    event_names: tuple[str, ...]
    lower: str | None
    upper: str | None
    page_size: int = 100


class EventStore(Protocol):
    def put_items(self, items: Sequence[Item], deadline: float) -> WriteOutcome: ...

    def newest_first(self, query: HistoryQuery) -> Iterator[Item]: ...


class DynamoEventStore:
    """Events in DynamoDB: batched idempotent writes, newest-first reads merged over shards."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        shard_count: int,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table_name
        self._shards = shard_count
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._pool: ThreadPoolExecutor | None = None

    # Writes ---------------------------------------------------------------------------

    def put_items(self, items: Sequence[Item], deadline: float) -> WriteOutcome:
        """Write every item, retrying throttled ones with jittered backoff until `deadline`.

        Keys are deterministic, so a retry rewrites the same item; only items confirmed written
        are reported stored.
        """
        outcome = WriteOutcome()
        pending, overwritten = _dedupe_by_key(items)
        delay = 0.05
        while pending:
            retry: list[tuple[int, Item]] = []
            for start in range(0, len(pending), BATCH_WRITE_LIMIT):
                chunk = pending[start : start + BATCH_WRITE_LIMIT]
                # Past the deadline, what is left is reported not stored rather than attempted.
                if start and self._clock() >= deadline:
                    retry.extend(chunk)
                    continue
                retry.extend(self._write_chunk(chunk, outcome))
            pending = retry
            if not pending:
                break
            outcome.throttled_attempts += 1
            pause = delay * (0.5 + random.random())  # noqa: S311 - jitter, not security
            if self._clock() + pause >= deadline:
                break
            self._sleep(pause)
            delay = min(delay * 2, 1.0)
        failed = {index for index, _ in pending}
        for earlier, later in overwritten.items():
            if later in failed:
                failed.add(earlier)
            else:
                outcome.stored.append(earlier)
        outcome.failed = sorted(failed)
        outcome.stored.sort()
        return outcome

    def _write_chunk(self, chunk: list[tuple[int, Item]], outcome: WriteOutcome) -> list[tuple[int, Item]]:
        request: list[Any] = [{"PutRequest": {"Item": item}} for _, item in chunk]
        try:
            response = self._client.batch_write_item(RequestItems={self._table: request})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in THROTTLING_CODES:
                return chunk
            raise
        except (EndpointUnreachable, ReadTimeoutError):
            # Unreachable, or no answer in time: the write may or may not have landed; keys are
            # deterministic, so writing it again is safe.
            return chunk
        unprocessed = response.get("UnprocessedItems", {}).get(self._table, [])
        if not unprocessed:
            outcome.stored.extend(index for index, _ in chunk)
            return []
        left = {_key_of(entry["PutRequest"]["Item"]) for entry in unprocessed}
        retry = [(index, item) for index, item in chunk if _key_of(item) in left]
        outcome.stored.extend(index for index, item in chunk if _key_of(item) not in left)
        return retry

    # Reads ----------------------------------------------------------------------------

    def newest_first(self, query: HistoryQuery) -> Iterator[Item]:
        """Every matching item, newest first, fetched page by page as the caller consumes."""
        if query.session_id is not None:
            yield from self._pages(self._session_request(query), query)
            return
        streams = [self._pages(self._shard_request(shard, query), query) for shard in range(self._shards)]
        if len(streams) > 1:
            streams = self._prefetch(streams)
        yield from heapq.merge(*streams, key=lambda item: item["sk"]["S"], reverse=True)

    def _prefetch(self, streams: list[Iterator[Item]]) -> list[Iterator[Item]]:
        """Start every shard's first page at once: a fan-out costs one round trip, not N."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=min(self._shards, 16))
        first_pages = list(self._pool.map(_first_item, streams))
        return [_chain(page, stream) for page, stream in zip(first_pages, streams, strict=True)]

    def _session_request(self, query: HistoryQuery) -> dict[str, Any]:
        request = self._base_request(query, "sessionId", {"S": str(query.session_id)})
        request["IndexName"] = keys.SESSION_INDEX
        return request

    def _shard_request(self, shard: int, query: HistoryQuery) -> dict[str, Any]:
        return self._base_request(query, "pk", {"S": keys.partition_key(shard)})

    def _base_request(self, query: HistoryQuery, hash_name: str, hash_value: dict[str, str]) -> dict[str, Any]:
        names = {"#h": hash_name}
        values: dict[str, Any] = {":h": hash_value}
        condition = "#h = :h"
        if query.lower is not None or query.upper is not None:
            names["#s"] = "sk"
        if query.lower is not None and query.upper is not None:
            condition += " AND #s BETWEEN :lo AND :hi"
            values[":lo"], values[":hi"] = {"S": query.lower}, {"S": query.upper}
        elif query.lower is not None:
            condition += " AND #s >= :lo"
            values[":lo"] = {"S": query.lower}
        elif query.upper is not None:
            condition += " AND #s < :hi"
            values[":hi"] = {"S": query.upper}
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": query.page_size,
        }
        # TTL deletion lags expiry by up to a few days; expired events are gone to readers.
        names["#t"] = "ttl"
        values[":now"] = {"N": str(int(self._wall_clock()))}
        filters = ["#t > :now"]
        if query.event_names:
            placeholders = []
            for position, name in enumerate(query.event_names):
                values[f":e{position}"] = {"S": name}
                placeholders.append(f":e{position}")
            names["#e"] = "event"
            filters.append(f"#e IN ({', '.join(placeholders)})")
        request["FilterExpression"] = " AND ".join(filters)
        return request

    def _pages(self, request: dict[str, Any], query: HistoryQuery) -> Iterator[Item]:
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                # BETWEEN is inclusive; the upper bound is exclusive in our contract.
                if query.upper is None or item["sk"]["S"] != query.upper:
                    yield item
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request = {**request, "ExclusiveStartKey": last}


def _first_item(stream: Iterator[Item]) -> list[Item]:
    # Pulling one item makes the generator send its first Query.
    return list(itertools.islice(stream, 1))


def _chain(head: list[Item], rest: Iterator[Item]) -> Iterator[Item]:
    yield from head
    yield from rest


def _key_of(item: Item) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["S"]


def _dedupe_by_key(items: Sequence[Item]) -> tuple[list[tuple[int, Item]], dict[int, int]]:
    """BatchWriteItem refuses two puts of one key; the later wins, as it would in sequence.

    Returns the items to write and, for each overwritten position, the position that wins.
    """
    last_position: dict[tuple[str, str], int] = {}
    overwritten: dict[int, int] = {}
    for index, item in enumerate(items):
        key = _key_of(item)
        if key in last_position:
            overwritten[last_position[key]] = index
        last_position[key] = index
    # A chain a -> b -> c resolves to c.
    for earlier in sorted(overwritten, reverse=True):
        later = overwritten[earlier]
        overwritten[earlier] = overwritten.get(later, later)
    unique = [(index, items[index]) for index in sorted(last_position.values())]
    return unique, overwritten
