"""An in-memory EventStore with the DynamoDB store's ordering, for unit tests and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from claude_events.repository import HistoryQuery, Item, WriteOutcome


class InMemoryEventStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}
        self.refuse_writes = False

    def put_items(self, items: Sequence[Item], deadline: float) -> WriteOutcome:
        if self.refuse_writes:
            return WriteOutcome(failed=list(range(len(items))), throttled_attempts=1)
        for item in items:
            self.items[(item["pk"]["S"], item["sk"]["S"])] = item
        return WriteOutcome(stored=list(range(len(items))))

    def newest_first(self, query: HistoryQuery) -> Iterator[Item]:
        for item in sorted(self.items.values(), key=lambda item: item["sk"]["S"], reverse=True):
            sort_key = item["sk"]["S"]
            if query.session_id is not None and item["sessionId"]["S"] != query.session_id:
                continue
            if query.event_names and item["event"]["S"] not in query.event_names:
                continue
            if query.lower is not None and sort_key < query.lower:
                continue
            if query.upper is not None and sort_key >= query.upper:
                continue
            if int(item["ttl"]["N"]) <= time.time():
                continue
            yield item


class BackoffClock:
    """Real monotonic time plus every backoff the store asked for, which is not slept."""

    def __init__(self) -> None:
        self.slept = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.slept

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
