"""Reads a DynamoDB stream (moto's) and invokes the mapped function as Lambda's event source mapping does.

- Records are read through the dynamodbstreams API, ten times a second, from the position the
  mapping starts at (LATEST: what is written after the stack started).
- FilterCriteria drop records before batching; a dropped record never reaches the function.
- A batch goes out when it holds BatchSize records or when its oldest record has waited
  MaximumBatchingWindowInSeconds (0: as soon as records are read).
- Records reach the function in Lambda's JSON shape (local.streams), one batch at a time, in order.
- A function error retries the batch (split in two first with BisectBatchOnFunctionError);
  `batchItemFailures` (with ReportBatchItemFailures) retries from the first failed record, the
  ones before it are done. After MaximumRetryAttempts retries, or once a record is older than
  MaximumRecordAgeInSeconds, the records are discarded and the discard is logged (the on-failure
  destination is named in the log, not written to).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.aws import LocalAws
from local.event_filter import passes
from local.event_sources import StreamMapping
from local.lambda_runtime import Invocation, LambdaRuntime
from local.streams import lambda_stream_record

POLL_INTERVAL_SECONDS = 0.1
READ_LIMIT = 1000
RETRY_BASE_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0
ERROR_PAUSE_SECONDS = 1.0

_log = logging.getLogger("local.stream")


@dataclass
class _Pending:
    record: dict[str, Any]
    read_at: float


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    attempts: int = 0


class StreamPoller:
    def __init__(
        self,
        mapping: StreamMapping,
        runtime: LambdaRuntime,
        aws: LocalAws,
        *,
        poll_interval: float = POLL_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.mapping = mapping
        self._runtime = runtime
        self._aws = aws
        self._poll_interval = poll_interval
        self._clock = clock
        self._wall_clock = wall_clock
        self._client: Any = None
        self._iterators: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the shard iterators now (so LATEST means "after startup"), then poll in the background."""
        self._client = self._aws.dynamodb_streams()
        await asyncio.to_thread(self._open)
        self._task = asyncio.create_task(self._run(), name=f"stream poller {self.mapping.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # Reading -----------------------------------------------------------------------------

    def _open(self) -> None:
        description = self._client.describe_stream(StreamArn=self.mapping.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            iterator = self._client.get_shard_iterator(
                StreamArn=self.mapping.stream_arn,
                ShardId=shard["ShardId"],
                ShardIteratorType=self.mapping.starting_position,
            )["ShardIterator"]
            self._iterators[shard["ShardId"]] = iterator

    def _read(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for shard_id, iterator in list(self._iterators.items()):
            response = self._client.get_records(ShardIterator=iterator, Limit=READ_LIMIT)
            records.extend(response.get("Records", []))
            following = response.get("NextShardIterator")
            self._aws.forget_shard_iterator(iterator)
            if following:
                self._iterators[shard_id] = following
            else:  # the shard is closed
                del self._iterators[shard_id]
        return records

    async def _run(self) -> None:
        mapping = self.mapping
        pending: list[_Pending] = []
        while True:
            try:
                fresh = await asyncio.to_thread(self._read)
                now = self._clock()
                for raw in fresh:
                    record = lambda_stream_record(raw, mapping.stream_arn)
                    if passes(mapping.filters, record):
                        pending.append(_Pending(record, now))
                if not pending:
                    await asyncio.sleep(self._poll_interval)
                    continue
                waited = now - pending[0].read_at
                if len(pending) < mapping.batch_size and waited < mapping.batching_window_seconds:
                    await asyncio.sleep(min(self._poll_interval, mapping.batching_window_seconds - waited))
                    continue
                batch, pending = pending[: mapping.batch_size], pending[mapping.batch_size :]
                await self.deliver([item.record for item in batch])
            except asyncio.CancelledError:
                raise
            except Exception:
                # The poller must outlive anything one batch does; the records stay pending.
                _log.exception("%s: polling failed; retrying in %.0f s", mapping.name, ERROR_PAUSE_SECONDS)
                await asyncio.sleep(ERROR_PAUSE_SECONDS)

    # Delivering --------------------------------------------------------------------------

    async def deliver(self, records: list[dict[str, Any]]) -> None:
        """Invoke the function with these records until they are done or discarded."""
        mapping = self.mapping
        work = [_Batch(records)]
        while work:
            batch = work.pop(0)
            while batch.records:
                batch.records = self._drop_expired(batch.records)
                if not batch.records:
                    break
                started = self._clock()
                invocation = await self._runtime.invoke(mapping.function, {"Records": batch.records})
                elapsed_ms = (self._clock() - started) * 1000
                if not invocation.failed:
                    failed_from = self._first_failure(batch.records, invocation)
                    if failed_from is None:
                        _log.info("%s: %d record(s) %.1f ms", mapping.name, len(batch.records), elapsed_ms)
                        break
                    _log.warning(
                        "%s: %d of %d record(s) reported failed; retrying from %s",
                        mapping.name,
                        len(batch.records) - failed_from,
                        len(batch.records),
                        _sequence(batch.records[failed_from]),
                    )
                    batch.records = batch.records[failed_from:]
                elif mapping.bisect_on_error and len(batch.records) > 1:
                    half = len(batch.records) // 2
                    _log.warning("%s: function error; bisecting %d record(s)", mapping.name, len(batch.records))
                    work[0:0] = [
                        _Batch(batch.records[:half], batch.attempts),
                        _Batch(batch.records[half:], batch.attempts),
                    ]
                    break
                else:
                    _log.warning("%s: function error on %d record(s)", mapping.name, len(batch.records))
                batch.attempts += 1
                if 0 <= mapping.max_retries < batch.attempts:
                    self._discard(batch.records, "RetryAttemptsExhausted")
                    break
                await asyncio.sleep(min(RETRY_BASE_SECONDS * 2 ** (batch.attempts - 1), RETRY_MAX_SECONDS))

    def _first_failure(self, records: list[dict[str, Any]], invocation: Invocation) -> int | None:
        """Where to retry from after a successful invocation; None when every record is done."""
        if not self.mapping.report_item_failures or not isinstance(invocation.result, dict):
            return None
        failures = invocation.result.get("batchItemFailures")
        if not failures:
            return None
        positions = {_sequence(record): index for index, record in enumerate(records)}
        indexes: list[int] = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in positions:
                return 0  # Lambda treats an empty or unknown identifier as the whole batch failing
            indexes.append(positions[identifier])
        return min(indexes)

    def _drop_expired(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        limit = self.mapping.max_record_age_seconds
        if limit < 0:
            return records
        now = self._wall_clock()
        fresh = [record for record in records if now - _created(record) <= limit]
        if len(fresh) < len(records):
            self._discard([record for record in records if record not in fresh], "RecordAgeExceeded")
        return fresh

    def _discard(self, records: list[dict[str, Any]], condition: str) -> None:
        destination = self.mapping.on_failure or "none"
        _log.error(
            "%s: discarded %d record(s) (sequence numbers %s to %s): %s; on-failure destination %s "
            "(named only: the local stack does not write to it)",
            self.mapping.name,
            len(records),
            _sequence(records[0]),
            _sequence(records[-1]),
            condition,
            destination,
        )


def _sequence(record: dict[str, Any]) -> str:
    return str(record.get("dynamodb", {}).get("SequenceNumber", "?"))


def _created(record: dict[str, Any]) -> float:
    value = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    return float(value) if isinstance(value, (int, float)) else time.time()
