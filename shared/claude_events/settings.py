"""Per-function settings, read from the environment once per cold start."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class _EnvSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class StorageSettings(_EnvSettings):
    """Where events live and how their keys are spread."""

    events_table: str = Field(alias="EVENTS_TABLE_NAME", min_length=3)
    shard_count: int = Field(default=4, alias="SHARD_COUNT", ge=1, le=64)
    retention_days: int = Field(default=30, alias="RETENTION_DAYS", ge=1, le=3650)


class IngestSettings(StorageSettings):
    """Limits and policy of the ingest function."""

    max_body_bytes: int = Field(default=1_048_576, alias="MAX_BODY_BYTES", ge=1024, le=10_485_760)
    max_batch_size: int = Field(default=100, alias="MAX_BATCH_SIZE", ge=1, le=100)
    max_future_skew_seconds: int = Field(default=300, alias="MAX_FUTURE_SKEW_SECONDS", ge=0)
    strict_event_names: bool = Field(default=False, alias="STRICT_EVENT_NAMES")
    write_deadline_seconds: float = Field(default=5.0, alias="WRITE_DEADLINE_SECONDS", gt=0, le=25)


class QuerySettings(StorageSettings):
    """Settings of the query function."""

    cursor_key: str = Field(alias="CURSOR_SIGNING_KEY", min_length=8)


class WebSocketSettings(StorageSettings):
    """Settings of ws_connect and ws_broadcast."""

    connections_table: str = Field(alias="CONNECTIONS_TABLE_NAME", min_length=3)
    management_url: str = Field(alias="WEBSOCKET_MANAGEMENT_URL", pattern=r"^https?://")
    cursor_key: str = Field(default="unused-by-websocket", alias="CURSOR_SIGNING_KEY", min_length=8)
    history_limit: int = Field(default=100, alias="HISTORY_LIMIT", ge=1, le=1000)
    replay_deadline_seconds: float = Field(default=5.0, alias="REPLAY_DEADLINE_SECONDS", gt=0, le=60)
    fanout_workers: int = Field(default=64, alias="FANOUT_WORKERS", ge=1, le=256)


class AuthorizerSettings(_EnvSettings):
    tokens_table: str = Field(alias="TOKENS_TABLE_NAME", min_length=3)


@cache
def ingest_settings() -> IngestSettings:
    return IngestSettings.model_validate(os.environ)


@cache
def query_settings() -> QuerySettings:
    return QuerySettings.model_validate(os.environ)


@cache
def websocket_settings() -> WebSocketSettings:
    return WebSocketSettings.model_validate(os.environ)


@cache
def authorizer_settings() -> AuthorizerSettings:
    return AuthorizerSettings.model_validate(os.environ)
