"""Builds each function's services once per cold start; tests and benchmarks hand in their own."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from claude_events.cursor import CursorCodec
from claude_events.history import HistoryService
from claude_events.ingest import IngestService
from claude_events.repository import DynamoEventStore, EventStore
from claude_events.settings import ingest_settings, query_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_overrides: dict[str, EventStore] = {}


def dynamodb_client(pool_size: int = 10) -> DynamoDBClient:
    config = Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=pool_size,
    )
    return boto3.client("dynamodb", config=config)


def use_event_store(store: EventStore | None) -> None:
    """Replace the DynamoDB store (None restores it); for tests, benchmarks and the local stack."""
    if store is None:
        _overrides.pop("events", None)
    else:
        _overrides["events"] = store
    ingest_service.cache_clear()
    history_service.cache_clear()


def _event_store(shard_count: int, table_name: str) -> EventStore:
    if "events" in _overrides:
        return _overrides["events"]
    return DynamoEventStore(dynamodb_client(pool_size=max(10, shard_count)), table_name, shard_count)


@cache
def ingest_service() -> IngestService:
    settings = ingest_settings()
    return IngestService(_event_store(settings.shard_count, settings.events_table), settings)


@cache
def history_service() -> HistoryService:
    settings = query_settings()
    store = _event_store(settings.shard_count, settings.events_table)
    return HistoryService(store, CursorCodec(settings.cursor_key.encode()))
