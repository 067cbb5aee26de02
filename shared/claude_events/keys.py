"""Table keys, derived only from (timestamp, eventId) so that a retried write lands on the same item.

Base table: pk = "EV#<shard>" with shard = crc32(eventId) mod SHARD_COUNT, sk = "<time>#<eventId>".
Spreading writes over shards lifts the one-partition-key write ceiling (1,000 WCU/s); reading the
newest N of all sessions queries every shard and merges. Per-session reads use the BySession
index (sessionId, sk). See docs/storage.md for the arithmetic.
"""

from __future__ import annotations

import zlib
from datetime import datetime

from claude_events import timestamps

SHARD_PREFIX = "EV#"
SESSION_INDEX = "BySession"
KEY_SEPARATOR = "#"


def shard_of(event_id: str, shard_count: int) -> int:
    return zlib.crc32(event_id.encode()) % shard_count


def partition_key(shard: int) -> str:
    return f"{SHARD_PREFIX}{shard}"


def sort_key(moment: datetime, event_id: str) -> str:
    return f"{timestamps.sortable(moment)}{KEY_SEPARATOR}{event_id}"


def time_bound(moment: datetime) -> str:
    """A sort-key bound: every key of this instant sorts after it, every earlier one before."""
    return timestamps.sortable(moment)
