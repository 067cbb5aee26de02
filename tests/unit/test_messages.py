"""WebSocket messages: events packed into as few messages as fit 128 KB, none lost, none repeated."""

from __future__ import annotations

import itertools
import json
import random
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_events import codec, messages
from claude_events.messages import MAX_MESSAGE_BYTES, error_message, history_messages, live_messages

KB = 1024


def event(index: int, data_bytes: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "eventId": f"01JDQ7Z8W3J5K6M7N8P9Q{index:05d}",
        "timestamp": f"2026-01-26T10:{index // 60 % 60:02d}:{index % 60:02d}.000Z",
        "event": "PostToolUse",
        "sessionId": "4f3c2a1e-9b7d-4c1a-8e2f-0a1b2c3d4e5f",
        "data": {"tool_name": "Bash", "tool_response": {"stdout": random_text(data_bytes, seed=index)}},
        "source": {"machine": "laptop-7"},
        "receivedAt": "2026-01-26T10:30:00.120Z",
        **extra,
    }


def random_text(length: int, seed: int) -> str:
    generator = random.Random(seed)  # noqa: S311 - test data, not secrets
    return "".join(generator.choices(string.ascii_letters + string.digits, k=length))


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [codec.dumps(item) for item in events]


def decoded(posted: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(message) for message in posted]


def events_in(posted: list[bytes]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for message in decoded(posted):
        found.extend(message["events"] if "events" in message else [message["event"]])
    return found


def test_empty_history_is_one_message_with_an_empty_list():
    # GIVEN no events WHEN history is packed
    posted = history_messages([])

    # THEN the client still gets one history message, empty
    assert decoded(posted) == [{"type": "claude:events:history", "events": []}]


def test_small_history_is_one_message_oldest_first():
    # GIVEN three events, oldest first
    history = [event(index) for index in range(3)]

    # WHEN they are packed
    posted = history_messages(texts(history))

    # THEN one message holds all three, in the same order, unchanged
    assert decoded(posted) == [{"type": "claude:events:history", "events": history}]


def test_large_history_is_split_under_the_limit_with_nothing_lost_or_repeated():
    # GIVEN 30 events of 20 KB each: about 600 KB, far over one message
    history = [event(index, data_bytes=20 * KB) for index in range(30)]

    # WHEN they are packed
    posted = history_messages(texts(history))

    # THEN every message fits, each is a history message, and together they hold every event once, in order
    assert len(posted) >= 5
    assert all(len(message) <= MAX_MESSAGE_BYTES for message in posted)
    assert {message["type"] for message in decoded(posted)} == {"claude:events:history"}
    assert events_in(posted) == history
    assert not any(found.get("truncated") for found in events_in(posted))


def test_a_300_kb_event_arrives_truncated_and_marked():
    # GIVEN one event of 300 KB between two small ones
    big = event(1, data_bytes=300 * KB)
    history = [event(0), big, event(2)]

    # WHEN history is packed
    posted = history_messages(texts(history))

    # THEN every message fits, the big event keeps its identity but is cut and marked truncated
    assert all(len(message) <= MAX_MESSAGE_BYTES for message in posted)
    found = events_in(posted)
    assert [item["eventId"] for item in found] == [item["eventId"] for item in history]
    assert found[0] == history[0]
    assert found[2] == history[2]
    assert found[1]["truncated"] is True
    assert found[1]["sessionId"] == big["sessionId"]
    assert found[1]["event"] == big["event"]
    stdout = found[1]["data"]["tool_response"]["stdout"]
    assert stdout.startswith(big["data"]["tool_response"]["stdout"][:1000])
    assert "[truncated" in stdout


def test_size_is_measured_in_utf8_bytes_not_characters():
    # GIVEN an event of 40,000 four-byte characters: 160 KB of UTF-8 but only 40,000 characters
    wide = {**event(0), "data": {"prompt": "😀" * 40_000}}

    # WHEN it is sent live and as history
    for posted in (live_messages(texts([wide])), history_messages(texts([wide]))):
        # THEN the message is cut to fit in bytes, and is still valid JSON
        assert len(posted) == 1
        assert len(posted[0]) <= MAX_MESSAGE_BYTES
        assert events_in(posted)[0]["truncated"] is True


def test_an_oversized_event_without_long_strings_still_fits():
    # GIVEN an event whose bulk is 40,000 numbers, which no string cut can shrink
    numeric = {**event(0), "data": {"tool_name": "Read", "samples": list(range(40_000))}}

    # WHEN it is sent live
    posted = live_messages(texts([numeric]))

    # THEN it goes out summarised, within the limit, marked truncated
    assert len(posted[0]) <= MAX_MESSAGE_BYTES
    only = events_in(posted)[0]
    assert only["truncated"] is True
    assert only["eventId"] == numeric["eventId"]
    assert only["data"]["tool_name"] == "Read"


def test_one_live_event_is_a_claude_event_message():
    posted = live_messages(texts([event(0)]))

    assert decoded(posted) == [{"type": "claude:event", "event": event(0)}]


def test_several_live_events_that_fit_are_one_claude_events_message():
    # GIVEN five small events from one stream batch
    batch = [event(index) for index in range(5)]

    # WHEN they are packed for one connection
    posted = live_messages(texts(batch))

    # THEN they go out as one message, in order
    assert decoded(posted) == [{"type": "claude:events", "events": batch}]


def test_live_events_that_do_not_fit_are_split():
    # GIVEN 30 events of 20 KB from one stream batch
    batch = [event(index, data_bytes=20 * KB) for index in range(30)]

    # WHEN they are packed
    posted = live_messages(texts(batch))

    # THEN several messages, each within the limit, carry every event once, in order
    assert len(posted) > 1
    assert all(len(message) <= MAX_MESSAGE_BYTES for message in posted)
    assert {message["type"] for message in decoded(posted)} == {"claude:events"}
    assert events_in(posted) == batch


def test_one_oversized_live_event_is_a_truncated_claude_event():
    big = event(0, data_bytes=300 * KB)

    posted = live_messages(texts([big]))

    assert len(posted) == 1
    assert len(posted[0]) <= MAX_MESSAGE_BYTES
    message = json.loads(posted[0])
    assert message["type"] == "claude:event"
    assert message["event"]["truncated"] is True
    assert message["event"]["eventId"] == big["eventId"]


def test_events_that_fill_a_message_exactly_are_not_split():
    # GIVEN two events sized so the message is exactly the limit
    overhead = len(b'{"type":"claude:events","events":[,]}')
    first = codec.dumps(event(0))
    filler = MAX_MESSAGE_BYTES - overhead - len(first.encode())
    probe = codec.dumps({**event(1), "data": {"x": ""}})
    second = codec.dumps({**event(1), "data": {"x": "y" * (filler - len(probe.encode()))}})

    # WHEN they are packed
    posted = live_messages([first, second])

    # THEN they share one message of exactly the limit, and one byte more would split them
    assert [len(message) for message in posted] == [MAX_MESSAGE_BYTES]
    longer = codec.dumps({**event(1), "data": {"x": "y" * (filler - len(probe.encode()) + 1)}})
    assert len(live_messages([first, longer])) == 2


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=25),
    max_bytes=st.integers(min_value=1500, max_value=6000),
    kind=st.sampled_from(["history", "live"]),
)
def test_packing_is_greedy_complete_and_within_the_limit(sizes: list[int], max_bytes: int, kind: str):
    # GIVEN events of arbitrary sizes and a message limit, some events larger than the limit
    batch = [event(index, data_bytes=size) for index, size in enumerate(sizes)]
    pack = history_messages if kind == "history" else live_messages

    # WHEN they are packed
    posted = pack(texts(batch), max_bytes=max_bytes)

    # THEN no message is over the limit, every event is there once in order, and only those too big were cut
    assert all(len(message) <= max_bytes for message in posted)
    found = events_in(posted)
    assert [item["eventId"] for item in found] == [item["eventId"] for item in batch]
    for original, delivered in zip(batch, found, strict=True):
        assert delivered == original or delivered["truncated"] is True
    # and a message was closed only because the next event did not fit in it
    for current, following in itertools.pairwise(posted):
        first_of_next = json.dumps(json.loads(following)["events"][0], ensure_ascii=False, separators=(",", ":"))
        assert len(current) + 1 + len(first_of_next.encode()) > max_bytes


def test_messages_splice_stored_text_without_reserialising():
    # GIVEN stored JSON text with a float and escapes that json.dumps would write differently
    stored = '{"eventId":"e1","event":"Stop","sessionId":"s","data":{"n":1.0e2,"s":"\\u00e9"}}'

    # WHEN it is sent
    posted = live_messages([stored])

    # THEN the text goes out exactly as stored
    assert posted == [b'{"type":"claude:event","event":' + stored.encode() + b"}"]


def test_error_message_names_the_valid_actions():
    message = json.loads(error_message("unknown action 'dance'"))

    assert message == {
        "type": "claude:error",
        "message": "unknown action 'dance'",
        "validActions": ["history", "subscribe"],
    }


@pytest.mark.parametrize(
    ("session_id", "names", "expected"),
    [
        (None, [], {"sessionId": None, "events": None}),
        ("s1", ["Stop", "PreToolUse"], {"sessionId": "s1", "events": ["Stop", "PreToolUse"]}),
    ],
)
def test_subscribed_message_echoes_the_filter(session_id, names, expected):
    message = json.loads(messages.subscribed_message(session_id, names))

    assert message == {"type": "claude:subscribed", "filter": expected}
