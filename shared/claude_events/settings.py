"""Per-function settings, read from the environment once per cold start.

Plain frozen dataclasses with bounds checked at construction, not pydantic models: the query,
authorizer and broadcast functions would otherwise import pydantic (about 100-200 ms of cold start)
for a handful of variables. A missing or out-of-range variable fails the cold start with a message
that names it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache


class SettingsError(ValueError):
    pass


class _Env:
    """Typed, bounded reads of environment variables."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str | None = None, min_length: int = 1) -> str:
        value = self._environ.get(name, default)
        if value is None:
            raise SettingsError(f"{name} is not set")
        if len(value) < min_length:
            raise SettingsError(f"{name} must be at least {min_length} characters")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self._environ.get(name)
        try:
            value = default if raw is None else int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
        if not low <= value <= high:
            raise SettingsError(f"{name} must be from {low} to {high}, not {value}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self._environ.get(name)
        try:
            value = default if raw is None else float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, not {raw!r}") from None
        if not low < value <= high:
            raise SettingsError(f"{name} must be above {low} and at most {high}, not {value}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self._environ.get(name)
        if raw is None:
            return default
        if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise SettingsError(f"{name} must be true or false, not {raw!r}")
        return raw.lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class StorageSettings:
    """Where events live and how their keys are spread."""

    events_table: str
    shard_count: int = 4
    retention_days: int = 30


def _storage(env: _Env) -> tuple[str, int, int]:
    return (
        env.text("EVENTS_TABLE_NAME", min_length=3),
        env.integer("SHARD_COUNT", 4, 1, 64),
        env.integer("RETENTION_DAYS", 30, 1, 3650),
    )


@dataclass(frozen=True)
class IngestSettings(StorageSettings):
    """Limits and policy of the ingest function."""

    max_body_bytes: int = 1_048_576
    max_batch_size: int = 100
    max_future_skew_seconds: int = 300
    strict_event_names: bool = False
    write_deadline_seconds: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> IngestSettings:
        env = _Env(environ)
        table, shards, retention = _storage(env)
        return cls(
            table,
            shards,
            retention,
            max_body_bytes=env.integer("MAX_BODY_BYTES", 1_048_576, 1024, 10_485_760),
            max_batch_size=env.integer("MAX_BATCH_SIZE", 100, 1, 100),
            max_future_skew_seconds=env.integer("MAX_FUTURE_SKEW_SECONDS", 300, 0, 86_400 * 365),
            strict_event_names=env.flag("STRICT_EVENT_NAMES", default=False),
            write_deadline_seconds=env.number("WRITE_DEADLINE_SECONDS", 5.0, 0, 25),
        )


@dataclass(frozen=True)
class QuerySettings(StorageSettings):
    """Settings of the query function."""

    cursor_key: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> QuerySettings:
        env = _Env(environ)
        table, shards, retention = _storage(env)
        return cls(table, shards, retention, cursor_key=env.text("CURSOR_SIGNING_KEY", min_length=8))


@dataclass(frozen=True)
class WebSocketSettings(StorageSettings):
    """Settings of ws_connect and ws_broadcast."""

    connections_table: str = ""
    management_url: str = ""
    cursor_key: str = "unused-by-websocket"
    history_limit: int = 100
    replay_deadline_seconds: float = 5.0
    fanout_workers: int = 64

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WebSocketSettings:
        env = _Env(environ)
        url = env.text("WEBSOCKET_MANAGEMENT_URL", min_length=8)
        if not url.startswith(("https://", "http://")):
            raise SettingsError("WEBSOCKET_MANAGEMENT_URL must be an http(s) URL")
        table, shards, retention = _storage(env)
        return cls(
            table,
            shards,
            retention,
            connections_table=env.text("CONNECTIONS_TABLE_NAME", min_length=3),
            management_url=url,
            cursor_key=env.text("CURSOR_SIGNING_KEY", "unused-by-websocket", min_length=8),
            history_limit=env.integer("HISTORY_LIMIT", 100, 1, 1000),
            # The replay runs inside ws_connect's 10 s timeout.
            replay_deadline_seconds=env.number("REPLAY_DEADLINE_SECONDS", 5.0, 0, 8),
            fanout_workers=env.integer("FANOUT_WORKERS", 64, 1, 256),
        )


@dataclass(frozen=True)
class AuthorizerSettings:
    tokens_table: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AuthorizerSettings:
        return cls(tokens_table=_Env(environ).text("TOKENS_TABLE_NAME", min_length=3))


@cache
def ingest_settings() -> IngestSettings:
    return IngestSettings.from_env(os.environ)


@cache
def query_settings() -> QuerySettings:
    return QuerySettings.from_env(os.environ)


@cache
def websocket_settings() -> WebSocketSettings:
    return WebSocketSettings.from_env(os.environ)


@cache
def authorizer_settings() -> AuthorizerSettings:
    return AuthorizerSettings.from_env(os.environ)
