"""Table keys come only from (timestamp, eventId), so a retried write lands on the same item."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from claude_events import keys

MOMENT = datetime(2026, 1, 26, 10, 30, tzinfo=UTC)


def test_shard_is_deterministic_and_in_range():
    for shard_count in (1, 4, 64):
        for index in range(200):
            event_id = f"01JDQ7Z8W3J5K6M7N8P9Q{index:05d}"
            shard = keys.shard_of(event_id, shard_count)
            assert 0 <= shard < shard_count
            assert keys.shard_of(event_id, shard_count) == shard


def test_shards_spread_writes():
    # GIVEN many event ids over 4 shards
    counts = Counter(keys.shard_of(f"event-{index}", 4) for index in range(4000))

    # THEN every shard takes a fair share
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) > 800


def test_partition_key_names_the_shard():
    assert keys.partition_key(0) == "EV#0"
    assert keys.partition_key(17) == "EV#17"


def test_sort_key_is_time_then_event_id():
    assert keys.sort_key(MOMENT, "abc") == "2026-01-26T10:30:00.000000Z#abc"


def test_sort_key_is_the_same_for_a_retried_write():
    # GIVEN the same timestamp parsed from two spellings of it
    again = datetime.fromisoformat("2026-01-26T12:30:00+02:00").astimezone(UTC)

    # THEN the keys are equal
    assert keys.sort_key(MOMENT, "id-1") == keys.sort_key(again, "id-1")


@pytest.mark.parametrize("step", [timedelta(microseconds=1), timedelta(milliseconds=1), timedelta(days=400)])
def test_sort_keys_order_by_time_whatever_the_event_ids(step):
    earlier = keys.sort_key(MOMENT, "zzzzzzzz")
    later = keys.sort_key(MOMENT + step, "0")

    assert earlier < later


def test_time_bound_splits_keys_at_an_instant():
    # GIVEN the bound of an instant
    bound = keys.time_bound(MOMENT)

    # THEN every key of that instant sorts at or after it and every earlier key before it
    assert keys.sort_key(MOMENT, "0") > bound
    assert keys.sort_key(MOMENT, "zzzz") > bound
    assert keys.sort_key(MOMENT - timedelta(microseconds=1), "zzzz") < bound
    assert keys.sort_key(MOMENT + timedelta(microseconds=1), "0") > bound
