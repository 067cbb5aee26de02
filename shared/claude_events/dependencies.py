"""Builds each function's services once per cold start; tests and benchmarks hand in their own.

Every factory imports what only its function needs inside itself, so that no function pays at cold
start for another's modules (the query function, for one, never imports pydantic). Clients come
from botocore directly: boto3's session layer adds import time and nothing these functions use.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, cast

from botocore.config import Config
from botocore.session import Session, get_session

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient

    from claude_events.authorization import Authorizer
    from claude_events.broadcast import Broadcaster
    from claude_events.history import HistoryService
    from claude_events.ingest import IngestService
    from claude_events.repository import EventStore
    from claude_events.websocket import WebSocketService

_overrides: dict[str, EventStore] = {}


@cache
def _session() -> Session:
    return get_session()


def _client(service: str, config: Config, endpoint_url: str | None = None) -> Any:
    return _session().create_client(service, config=config, endpoint_url=endpoint_url)


def dynamodb_client(pool_size: int = 10, max_attempts: int = 3) -> DynamoDBClient:
    config = Config(
        connect_timeout=1,
        read_timeout=3,
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=pool_size,
    )
    return cast("DynamoDBClient", _client("dynamodb", config))


def management_client(endpoint_url: str, pool_size: int = 10) -> ApiGatewayManagementApiClient:
    # One attempt: the Poster retries 429 itself and treats 410 as final.
    config = Config(
        connect_timeout=2,
        read_timeout=3,
        retries={"mode": "standard", "max_attempts": 1},
        max_pool_connections=pool_size,
    )
    return cast("ApiGatewayManagementApiClient", _client("apigatewaymanagementapi", config, endpoint_url))


def lambda_client() -> Any:
    return _client("lambda", Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard"}))


def use_event_store(store: EventStore | None) -> None:
    """Replace the DynamoDB store (None restores it); for tests, benchmarks and the local stack."""
    if store is None:
        _overrides.pop("events", None)
    else:
        _overrides["events"] = store
    for factory in (ingest_service, history_service, websocket_service, broadcaster, authorizer):
        factory.cache_clear()


def _event_store(client: DynamoDBClient, table_name: str, shard_count: int) -> EventStore:
    from claude_events.repository import DynamoEventStore

    return _overrides.get("events") or DynamoEventStore(client, table_name, shard_count)


@cache
def ingest_service() -> IngestService:
    from claude_events.ingest import IngestService
    from claude_events.settings import ingest_settings

    settings = ingest_settings()
    # Writes retry on their own schedule, bounded by the write deadline; botocore adds one retry.
    client = dynamodb_client(pool_size=max(10, settings.shard_count), max_attempts=2)
    return IngestService(_event_store(client, settings.events_table, settings.shard_count), settings)


@cache
def history_service() -> HistoryService:
    from claude_events.cursor import CursorCodec
    from claude_events.history import HistoryService
    from claude_events.settings import query_settings

    settings = query_settings()
    client = dynamodb_client(pool_size=max(10, settings.shard_count))
    store = _event_store(client, settings.events_table, settings.shard_count)
    return HistoryService(store, CursorCodec(settings.cursor_key.encode()))


@cache
def websocket_service() -> WebSocketService:
    from claude_events.connections import ConnectionStore
    from claude_events.cursor import CursorCodec
    from claude_events.delivery import Poster
    from claude_events.history import HistoryService
    from claude_events.settings import websocket_settings
    from claude_events.websocket import LambdaReplayStarter, WebSocketService

    settings = websocket_settings()
    client = dynamodb_client(pool_size=max(10, settings.shard_count))
    history = HistoryService(
        _event_store(client, settings.events_table, settings.shard_count), CursorCodec(settings.cursor_key.encode())
    )
    return WebSocketService(
        connections=ConnectionStore(client, settings.connections_table),
        history=history,
        poster=Poster(management_client(settings.management_url)),
        start_replay=LambdaReplayStarter(lambda_client()),
        history_limit=settings.history_limit,
        replay_deadline_seconds=settings.replay_deadline_seconds,
    )


@cache
def broadcaster() -> Broadcaster:
    from claude_events.broadcast import Broadcaster
    from claude_events.connections import ConnectionStore
    from claude_events.settings import websocket_settings

    settings = websocket_settings()
    return Broadcaster(
        management_client(settings.management_url, pool_size=settings.fanout_workers),
        ConnectionStore(dynamodb_client(), settings.connections_table),
        workers=settings.fanout_workers,
    )


@cache
def authorizer() -> Authorizer:
    from claude_events.authorization import Authorizer
    from claude_events.settings import authorizer_settings
    from claude_events.tokens import TokenStore

    return Authorizer(TokenStore(dynamodb_client(), authorizer_settings().tokens_table))
