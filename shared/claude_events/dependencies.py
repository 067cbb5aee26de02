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
from claude_events.settings import authorizer_settings, ingest_settings, query_settings, websocket_settings

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from claude_events.authorization import Authorizer
    from claude_events.broadcast import Broadcaster
    from claude_events.websocket import WebSocketService

_overrides: dict[str, EventStore] = {}


def dynamodb_client(pool_size: int = 10, max_attempts: int = 3) -> DynamoDBClient:
    config = Config(
        connect_timeout=1,
        read_timeout=3,
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=pool_size,
    )
    return boto3.client("dynamodb", config=config)


def management_client(endpoint_url: str, pool_size: int = 10) -> ApiGatewayManagementApiClient:
    # One attempt: the Poster retries 429 itself and treats 410 as final.
    config = Config(
        connect_timeout=2,
        read_timeout=3,
        retries={"mode": "standard", "max_attempts": 1},
        max_pool_connections=pool_size,
    )
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=config)


def use_event_store(store: EventStore | None) -> None:
    """Replace the DynamoDB store (None restores it); for tests, benchmarks and the local stack."""
    if store is None:
        _overrides.pop("events", None)
    else:
        _overrides["events"] = store
    for factory in (ingest_service, history_service, websocket_service, broadcaster, authorizer):
        factory.cache_clear()


def _event_store(shard_count: int, table_name: str, max_attempts: int = 3) -> EventStore:
    if "events" in _overrides:
        return _overrides["events"]
    client = dynamodb_client(pool_size=max(10, shard_count), max_attempts=max_attempts)
    return DynamoEventStore(client, table_name, shard_count)


@cache
def ingest_service() -> IngestService:
    settings = ingest_settings()
    # Writes retry on their own schedule, bounded by the write deadline; botocore adds one retry.
    return IngestService(_event_store(settings.shard_count, settings.events_table, max_attempts=2), settings)


@cache
def history_service() -> HistoryService:
    settings = query_settings()
    store = _event_store(settings.shard_count, settings.events_table)
    return HistoryService(store, CursorCodec(settings.cursor_key.encode()))


@cache
def websocket_service() -> WebSocketService:
    from claude_events.connections import ConnectionStore
    from claude_events.delivery import Poster
    from claude_events.websocket import LambdaReplayStarter, WebSocketService

    settings = websocket_settings()
    client = dynamodb_client(pool_size=max(10, settings.shard_count))
    store = _overrides.get("events") or DynamoEventStore(client, settings.events_table, settings.shard_count)
    history = HistoryService(store, CursorCodec(settings.cursor_key.encode()))
    return WebSocketService(
        connections=ConnectionStore(client, settings.connections_table),
        history=history,
        poster=Poster(management_client(settings.management_url)),
        start_replay=LambdaReplayStarter(boto3.client("lambda")),
        history_limit=settings.history_limit,
        replay_deadline_seconds=settings.replay_deadline_seconds,
    )


@cache
def broadcaster() -> Broadcaster:
    from claude_events.broadcast import Broadcaster
    from claude_events.connections import ConnectionStore

    settings = websocket_settings()
    return Broadcaster(
        management_client(settings.management_url, pool_size=settings.fanout_workers),
        ConnectionStore(dynamodb_client(), settings.connections_table),
        workers=settings.fanout_workers,
    )


@cache
def authorizer() -> Authorizer:
    from claude_events.authorization import Authorizer
    from claude_events.tokens import TokenStore

    return Authorizer(TokenStore(dynamodb_client(), authorizer_settings().tokens_table))
