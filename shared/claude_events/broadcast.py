"""Fan-out of new events to every connection whose filter they match, posted concurrently."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from claude_events.connections import ConnectionStore, EventFilter
from claude_events.delivery import Delivered, Poster
from claude_events.messages import live_messages

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient


@dataclass(frozen=True)
class LiveEvent:
    session_id: str
    event_name: str
    json_text: str


@dataclass
class FanoutReport:
    connections: int = 0
    messages_sent: int = 0
    pruned: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    throttled: int = 0
    seconds: float = 0.0

    @property
    def all_failed(self) -> bool:
        """Every connection that should have had a message failed for a reason other than 410."""
        return bool(self.failed) and not self.messages_sent


class Broadcaster:
    """Reads the connections once per batch, packs one message list per distinct filter, posts in parallel.

    A sequential loop costs connections x post latency; a pool of `workers` threads over one boto3
    client (whose connection pool is as large) costs about connections / workers x latency.
    """

    def __init__(
        self,
        management: ApiGatewayManagementApiClient,
        connections: ConnectionStore,
        workers: int = 64,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._management = management
        self._connections = connections
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fanout")
        self._clock = clock

    def broadcast(self, events: list[LiveEvent]) -> FanoutReport:
        started = self._clock()
        report = FanoutReport()
        if not events:
            return report
        by_filter: dict[EventFilter, list[str]] = defaultdict(list)
        for connection in self._connections.all():
            by_filter[connection.filter].append(connection.connection_id)
        jobs: list[tuple[str, list[bytes]]] = []
        for event_filter, connection_ids in by_filter.items():
            texts = [event.json_text for event in events if event_filter.matches(event.session_id, event.event_name)]
            if texts:
                messages = live_messages(texts)
                jobs.extend((connection_id, messages) for connection_id in connection_ids)
        report.connections = len(jobs)
        poster = Poster(self._management)
        for connection_id, (outcome, sent) in zip(
            (job[0] for job in jobs), self._pool.map(lambda job: _deliver(poster, *job), jobs), strict=True
        ):
            report.messages_sent += sent
            if outcome is Delivered.GONE and self._connections.prune(connection_id):
                report.pruned.append(connection_id)
            elif outcome is Delivered.FAILED:
                report.failed.append(connection_id)
        report.throttled = poster.throttled
        report.seconds = self._clock() - started
        return report


def _deliver(poster: Poster, connection_id: str, messages: list[bytes]) -> tuple[Delivered, int]:
    sent = 0
    for message in messages:
        outcome = poster.post(connection_id, message)
        if outcome is not Delivered.SENT:
            return outcome, sent
        sent += 1
    return Delivered.SENT, sent
