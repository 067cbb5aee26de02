"""Property: any valid event's data, posted through ingest and read through query, comes back exactly.

Exactly means the same JSON text: 1 stays 1, 1.0 stays 1.0, -0.0 stays -0.0, big integers keep
every digit, and key order is kept.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from claude_events import codec, dependencies
from claude_events.names import EVENT_NAME_PATTERN
from local.template import create_table_arguments
from tests.support.handlers import get_events, post_events

TABLE = os.environ["EVENTS_TABLE_NAME"]
SESSIONS = itertools.count()

# Keys the raw hook shape reads as the event's own fields rather than data.
RAW_RESERVED = frozenset(
    {"hook_event_name", "session_id", "event", "eventId", "timestamp", "source", "receivedAt", "truncated"}
)

unicode_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=24)
edge_floats = st.sampled_from(
    [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        5e-324,  # smallest subnormal
        -5e-324,
        2.2250738585072014e-308,  # smallest normal
        1.7976931348623157e308,  # largest finite
        -1.7976931348623157e308,
        1e16,
        123456789.123456789,
        1e-7,
    ]
)
edge_ints = st.sampled_from([0, -1, 2**53, 2**53 + 1, -(2**63), 2**64, 10**100, -(10**300)])
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | edge_ints
    | st.floats(allow_nan=False, allow_infinity=False)
    | edge_floats
    | unicode_text
    | st.just("")
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(unicode_text, children, max_size=4),
    max_leaves=20,
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """A value wrapped in up to ~100 alternating objects and lists."""
    value = draw(json_values)
    for level in range(draw(st.integers(min_value=1, max_value=100))):
        value = {draw(unicode_text): value} if level % 2 else [value]
    return value


event_data = st.dictionaries(unicode_text, json_values | deep(), max_size=6).filter(
    lambda data: not codec.depth_exceeds(data)
)
event_names = st.from_regex(EVENT_NAME_PATTERN, fullmatch=True)


def same_json(left: Any, right: Any) -> bool:
    return json.dumps(left) == json.dumps(right)


def history_of(session_id: str) -> list[dict[str, Any]]:
    answer = get_events(f"sessionId={quote(session_id)}")
    assert answer.status == 200, answer.body
    return answer.json()["events"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def events_table() -> Iterator[str]:
    """One moto table for every example; each example writes its own session."""
    with mock_aws():
        dependencies.use_event_store(None)
        boto3.client("dynamodb").create_table(**create_table_arguments("EventsTable", TABLE))
        yield TABLE
    dependencies.use_event_store(None)


def examples(count: int) -> settings:
    """Few enough examples to stay fast; derandomized, so every run checks the same ones."""
    return settings(max_examples=count, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@examples(80)
@given(data=event_data, name=event_names)
def test_prototype_shape_data_round_trips_exactly(events_table, data, name):
    # GIVEN any valid event in the prototype's shape
    session_id = f"prop-{next(SESSIONS)}"
    posted = {"event": name, "sessionId": session_id, "timestamp": "2026-01-26T10:30:00Z", "data": data}

    # WHEN it is posted and read back
    created = post_events(posted)
    listed = history_of(session_id)

    # THEN the data in both answers is the same JSON as was posted
    assert created.status == 201, created.body
    assert same_json(created.json()["event"]["data"], data)
    assert len(listed) == 1
    assert same_json(listed[0]["data"], data)
    assert listed[0]["event"] == name
    assert "truncated" not in listed[0]


@examples(50)
@given(data=event_data.map(lambda data: {k: v for k, v in data.items() if k not in RAW_RESERVED}))
def test_raw_hook_shape_data_round_trips_exactly(events_table, data):
    # GIVEN the JSON a Claude Code hook receives, with any extra fields
    session_id = f"raw-{next(SESSIONS)}"
    posted = {"session_id": session_id, "hook_event_name": "PostToolUse", **data}

    # WHEN it is posted as it is and read back
    created = post_events(posted)
    listed = history_of(session_id)

    # THEN every field but the two hook names is the data, exactly and in order
    assert created.status == 201, created.body
    assert same_json(created.json()["event"]["data"], data)
    assert len(listed) == 1
    assert same_json(listed[0]["data"], data)
    assert listed[0]["sessionId"] == session_id


@examples(30)
@given(batch=st.lists(event_data, min_size=1, max_size=5))
def test_batch_data_round_trips_exactly_in_order(events_table, batch):
    # GIVEN a batch of events at one instant, ids in order
    session_id = f"batch-{next(SESSIONS)}"
    posted = [
        {
            "event": "Notification",
            "sessionId": session_id,
            "eventId": f"e{index}",
            "timestamp": "2026-01-26T10:30:00Z",
            "data": data,
        }
        for index, data in enumerate(batch)
    ]

    # WHEN it is posted and read back
    created = post_events({"events": posted})
    listed = history_of(session_id)

    # THEN each event's data comes back exactly, in the batch's order
    assert created.status == 201, created.body
    assert same_json([event["data"] for event in created.json()["events"]], batch)
    assert [event["eventId"] for event in listed] == [f"e{index}" for index in range(len(batch))]
    assert same_json([event["data"] for event in listed], batch)


@pytest.mark.parametrize(
    "data",
    [
        {"one": 1, "one_float": 1.0, "zero": 0, "negative_zero": -0.0},
        {"tiny": 5e-324, "huge": 1.7976931348623157e308, "big": 2**64 + 1, "bigger": -(10**300)},
        {"": "", "empty": {}, "list": [], "nested": [[], [{}], {"": []}]},
        {"text": '日本語 😀 \u202e\u200b\x00\n\t"\\', "é": "combining é"},
    ],
    ids=["ints-vs-floats", "extremes", "empties", "unicode"],
)
def test_known_corners_round_trip_exactly(events_table, data):
    # The shrunk examples worth keeping whatever hypothesis draws
    session_id = f"corner-{next(SESSIONS)}"
    created = post_events({"event": "Stop", "sessionId": session_id, "data": data})

    assert created.status == 201, created.body
    [stored] = history_of(session_id)
    assert json.dumps(stored["data"]) == json.dumps(data)
