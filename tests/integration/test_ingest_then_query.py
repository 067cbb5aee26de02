"""Ingest then query through the real handlers, on moto's DynamoDB."""

from __future__ import annotations

import pytest

from tests.support.handlers import get_events, post_events

pytestmark = pytest.mark.usefixtures("events_table")


def prototype_event(session: str = "abc-123", event: str = "PreToolUse", **extra):
    return {
        "timestamp": "2026-01-26T10:30:00Z",
        "event": event,
        "sessionId": session,
        "data": {"tool_name": "Read", "tool_input": {"file_path": "/home/me/src/shop/README.md"}},
        **extra,
    }


def test_prototype_shape_is_stored_and_returned():
    # GIVEN an event in the prototype's shape
    posted = prototype_event()

    # WHEN it is posted and history is read
    created = post_events(posted)
    listed = get_events("sessionId=abc-123")

    # THEN it is stored with the server's fields and comes back the same
    assert created.status == 201, created.body
    stored = created.json()["event"]
    assert stored["timestamp"] == "2026-01-26T10:30:00.000Z"
    assert stored["data"] == posted["data"]
    assert stored["eventId"]
    assert stored["receivedAt"]
    assert listed.status == 200
    assert listed.json() == {"events": [stored], "count": 1, "nextCursor": None}


def test_raw_hook_input_is_accepted():
    # GIVEN the JSON Claude Code hands a PostToolUse hook
    raw = {
        "session_id": "4f3c2a1e-9b7d-4c1a-8e2f-0a1b2c3d4e5f",
        "transcript_path": "/home/me/.claude/projects/x/4f3c.jsonl",
        "cwd": "/home/me/src/shop",
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_response": {"stdout": "a\nb", "stderr": "", "interrupted": False},
        "tool_use_id": "toolu_01",
    }

    # WHEN it is posted as it is
    created = post_events(raw, headers={"x-claude-machine": "laptop-7"})

    # THEN the event and session come from the hook fields, the rest is data
    assert created.status == 201, created.body
    stored = created.json()["event"]
    assert stored["event"] == "PostToolUse"
    assert stored["sessionId"] == raw["session_id"]
    assert stored["data"]["tool_response"] == raw["tool_response"]
    assert "hook_event_name" not in stored["data"]
    assert stored["source"]["machine"] == "laptop-7"
    assert stored["source"]["project"] == "shop"


def test_batch_then_newest_first_paging():
    # GIVEN 30 events across two sessions
    batch = [
        prototype_event(session=f"s{index % 2}", timestamp=f"2026-01-26T10:30:{index:02d}Z") for index in range(30)
    ]
    assert post_events({"events": batch}).status == 201

    # WHEN the newest 10 are read, then the page before
    first = get_events("limit=10").json()
    second = get_events(f"limit=10&cursor={first['nextCursor']}").json()

    # THEN each page is oldest first and the pages continue back in time
    first_times = [event["timestamp"][17:19] for event in first["events"]]
    second_times = [event["timestamp"][17:19] for event in second["events"]]
    assert first_times == [f"{second:02d}" for second in range(20, 30)]
    assert second_times == [f"{second:02d}" for second in range(10, 20)]
    assert first["count"] == 10


def test_session_filter_and_event_filter():
    post_events([prototype_event(session="a", event="PreToolUse"), prototype_event(session="b", event="Stop")])

    assert [e["sessionId"] for e in get_events("sessionId=a").json()["events"]] == ["a"]
    assert [e["event"] for e in get_events("event=Stop").json()["events"]] == ["Stop"]


def test_retry_with_same_event_id_keeps_one_copy():
    # GIVEN a client that retries the same event
    posted = prototype_event(eventId="01JDQ7Z8W3J5K6M7N8P9Q0R1S2")

    # WHEN it is posted twice
    post_events(posted)
    post_events(posted)

    # THEN history holds it once
    assert get_events().json()["count"] == 1
