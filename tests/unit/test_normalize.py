"""One posted event, in either accepted shape, -> the canonical event."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ulid import ULID

from claude_events import codec
from claude_events.normalize import CanonicalEvent, InvalidEvent, Policy, canonical_event
from claude_events.received import Received

RECEIVED_AT = datetime(2026, 1, 26, 10, 30, 0, 120_000, tzinfo=UTC)
LENIENT = Policy(strict_event_names=False, max_future_skew=timedelta(minutes=5))
STRICT = Policy(strict_event_names=True, max_future_skew=timedelta(minutes=5))


def received(
    headers: Mapping[str, str] | None = None, source_ip: str | None = "203.0.113.9", token_name: str | None = None
) -> Received:
    return Received(at=RECEIVED_AT, source_ip=source_ip, headers=headers or {}, token_name=token_name)


def normalize(posted: Any, *, policy: Policy = LENIENT, prefix: str = "", **receive: Any) -> CanonicalEvent:
    return canonical_event(posted, received(**receive), policy, prefix)


def problems_of(posted: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(InvalidEvent) as raised:
        normalize(posted, **kwargs)
    return {problem.field: problem.message for problem in raised.value.problems}


def prototype(**fields: Any) -> dict[str, Any]:
    return {
        "timestamp": "2026-01-26T10:29:59Z",
        "event": "PreToolUse",
        "sessionId": "abc-123",
        "data": {"tool_name": "Read", "tool_input": {"file_path": "/home/me/src/shop/README.md"}},
        **fields,
    }


# The prototype's shape ---------------------------------------------------------------


def test_prototype_shape_becomes_the_canonical_event():
    # GIVEN an event in the prototype's shape with an id
    posted = prototype(eventId="client-id-1")

    # WHEN it is normalized
    canonical = normalize(posted)

    # THEN the document has every canonical field and the server's
    assert canonical.document == {
        "eventId": "client-id-1",
        "timestamp": "2026-01-26T10:29:59.000Z",
        "event": "PreToolUse",
        "sessionId": "abc-123",
        "data": posted["data"],
        "source": {"ip": "203.0.113.9"},
        "receivedAt": "2026-01-26T10:30:00.120Z",
    }
    assert canonical.moment == datetime(2026, 1, 26, 10, 29, 59, tzinfo=UTC)
    assert canonical.event_id == "client-id-1"


def test_missing_event_id_gets_a_ulid():
    first, second = normalize(prototype()), normalize(prototype())

    assert len(first.event_id) == 26
    assert ULID.from_str(first.event_id)
    assert first.event_id != second.event_id


def test_missing_timestamp_defaults_to_receive_time():
    posted = prototype()
    del posted["timestamp"]

    canonical = normalize(posted)

    assert canonical.moment == RECEIVED_AT
    assert canonical.document["timestamp"] == "2026-01-26T10:30:00.120Z"


def test_missing_data_is_an_empty_object():
    assert normalize({"event": "Stop", "sessionId": "s"}).document["data"] == {}


def test_server_fields_sent_back_are_replaced_or_kept_when_true():
    # GIVEN a stored event posted again, with its server fields
    kept = normalize(prototype(receivedAt="1999-01-01T00:00:00.000Z", truncated=True))
    dropped = normalize(prototype(truncated=False))

    # THEN receivedAt is the server's and only truncated=true is kept
    assert kept.document["receivedAt"] == "2026-01-26T10:30:00.120Z"
    assert kept.document["truncated"] is True
    assert "truncated" not in dropped.document


def test_offset_timestamp_is_stored_in_utc():
    canonical = normalize(prototype(timestamp="2026-01-26T11:29:59.5+01:00"))

    assert canonical.document["timestamp"] == "2026-01-26T10:29:59.500Z"


# The raw hook shape ------------------------------------------------------------------


def test_raw_hook_input_maps_names_and_keeps_the_rest_as_data():
    raw = {
        "session_id": "4f3c2a1e-9b7d-4c1a-8e2f-0a1b2c3d4e5f",
        "transcript_path": "/home/me/.claude/projects/x/4f3c.jsonl",
        "cwd": "/home/me/src/shop",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_response": {"stdout": "a\nb", "stderr": "", "interrupted": False},
        "eventId": "client-id-2",
    }

    document = normalize(raw).document

    assert document["event"] == "PostToolUse"
    assert document["sessionId"] == raw["session_id"]
    assert document["eventId"] == "client-id-2"
    assert document["data"] == {
        "transcript_path": raw["transcript_path"],
        "cwd": raw["cwd"],
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        "tool_response": raw["tool_response"],
    }


def test_session_start_source_string_stays_in_data():
    # GIVEN SessionStart input, whose own `source` says how the session started
    raw = {"session_id": "s1", "hook_event_name": "SessionStart", "source": "startup", "cwd": "/w/proj"}

    document = normalize(raw).document

    # THEN it is hook data, not the hook client's source object
    assert document["data"] == {"source": "startup", "cwd": "/w/proj"}
    assert document["source"] == {"project": "proj", "ip": "203.0.113.9"}


def test_raw_source_object_is_the_clients_source():
    raw = {"session_id": "s1", "hook_event_name": "Stop", "source": {"machine": "ci-runner-3"}}

    document = normalize(raw).document

    assert document["source"]["machine"] == "ci-runner-3"
    assert "source" not in document["data"]


def test_raw_shape_problems_use_the_raw_names():
    problems = problems_of({"session_id": "bad id", "hook_event_name": "not pascal"})

    assert set(problems) == {"session_id", "hook_event_name"}


def test_raw_shape_missing_session_is_named():
    assert problems_of({"hook_event_name": "Stop"}) == {"session_id": "is required"}


# Time ----------------------------------------------------------------------------------


def test_ulid_event_id_without_timestamp_takes_the_ulids_time():
    # GIVEN a client ULID made a minute before the post, and no timestamp
    made_at = RECEIVED_AT - timedelta(minutes=1)
    event_id = str(ULID.from_datetime(made_at))
    posted = {"event": "Stop", "sessionId": "s", "eventId": event_id}

    # WHEN it is normalized twice (a retry)
    first, retry = normalize(posted), normalize(posted)

    # THEN the time is the ULID's (to the millisecond) and the retry lands on the same key
    assert first.moment == made_at.replace(microsecond=made_at.microsecond // 1000 * 1000)
    assert first.document["timestamp"] == "2026-01-26T10:29:00.120Z"
    assert retry.moment == first.moment


@pytest.mark.parametrize("event_id", ["not-a-ulid-but-26-chars-xx", "client-id-3", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ"])
def test_other_event_ids_without_timestamp_take_receive_time(event_id):
    posted = {"event": "Stop", "sessionId": "s", "eventId": event_id}

    assert normalize(posted).moment == RECEIVED_AT


def test_timestamp_wins_over_the_ulids_time():
    event_id = str(ULID.from_datetime(RECEIVED_AT - timedelta(days=1)))

    canonical = normalize(prototype(eventId=event_id))

    assert canonical.moment == datetime(2026, 1, 26, 10, 29, 59, tzinfo=UTC)


def test_far_future_timestamp_is_clamped_to_receive_time():
    # GIVEN a client clock a day ahead
    posted = prototype(timestamp="2026-01-27T10:30:00Z")

    document = normalize(posted).document

    # THEN it is accepted at the receive time, and the client's value is kept in source
    assert document["timestamp"] == "2026-01-26T10:30:00.120Z"
    assert document["source"]["clientTimestamp"] == "2026-01-27T10:30:00Z"


def test_far_future_year_9999_is_clamped_not_rejected():
    document = normalize(prototype(timestamp="9999-12-31T23:59:59Z")).document

    assert document["timestamp"] == "2026-01-26T10:30:00.120Z"
    assert document["source"]["clientTimestamp"] == "9999-12-31T23:59:59Z"


def test_small_future_skew_is_kept():
    document = normalize(prototype(timestamp="2026-01-26T10:34:00Z")).document

    assert document["timestamp"] == "2026-01-26T10:34:00.000Z"
    assert "clientTimestamp" not in document["source"]


@pytest.mark.parametrize(
    "timestamp",
    ["garbage-garbage", "2026-13-01T00:00:00Z", "2026-01-26", "1969-12-31T23:59:59Z", "9999-12-31T23:00:00-05:00"],
)
def test_bad_timestamps_are_named(timestamp):
    assert set(problems_of(prototype(timestamp=timestamp))) == {"timestamp"}


# Event names ---------------------------------------------------------------------------


def test_unknown_event_names_are_accepted_unless_strict():
    assert normalize(prototype(event="SomeFutureHook")).document["event"] == "SomeFutureHook"


def test_strict_mode_rejects_unknown_names():
    assert set(problems_of(prototype(event="SomeFutureHook"), policy=STRICT)) == {"event"}
    assert set(problems_of({"hook_event_name": "SomeFutureHook", "session_id": "s"}, policy=STRICT)) == {
        "hook_event_name"
    }


@pytest.mark.parametrize("name", ["PreToolUse", "SessionStart", "SessionEnd", "Notification", "PermissionRequest"])
def test_strict_mode_accepts_known_names(name):
    assert normalize(prototype(event=name), policy=STRICT).document["event"] == name


# Source ----------------------------------------------------------------------------------


def test_source_comes_from_headers():
    headers = {"x-claude-machine": "laptop-7", "x-claude-user": "ana", "x-claude-project": "shop"}

    source = normalize(prototype(), headers=headers, token_name="team-ci").document["source"]

    assert source == {"machine": "laptop-7", "user": "ana", "project": "shop", "ip": "203.0.113.9", "token": "team-ci"}


def test_body_source_overrides_headers_but_not_what_the_server_knows():
    # GIVEN a body that claims another ip and token
    posted = prototype(source={"machine": "from-body", "ip": "10.0.0.1", "token": "admin"})

    source = normalize(posted, headers={"x-claude-machine": "from-header"}, token_name="real-token").document["source"]

    # THEN the body's machine wins over the header, the server's ip and token over the body
    assert source["machine"] == "from-body"
    assert source["ip"] == "203.0.113.9"
    assert source["token"] == "real-token"


def test_long_header_values_are_cut():
    source = normalize(prototype(), headers={"x-claude-user": "u" * 1000}).document["source"]

    assert source["user"] == "u" * 256


@pytest.mark.parametrize(
    ("cwd", "project"),
    [
        ("/home/me/src/shop", "shop"),
        ("/home/me/src/shop/", "shop"),
        ("relative/dir", "dir"),
        ("C:\\Users\\me\\src\\shop", "shop"),  # Claude Code on Windows
        ("C:\\Users\\me\\src\\shop\\", "shop"),
        ("/", None),
        ("C:\\", None),
        ("", None),
    ],
)
def test_project_comes_from_cwd(cwd, project):
    source = normalize(prototype(data={"cwd": cwd}), source_ip=None).document["source"]

    assert source.get("project") == project


def test_explicit_project_wins_over_cwd():
    from_body = normalize(prototype(data={"cwd": "/w/a"}, source={"project": "b"})).document["source"]
    from_header = normalize(prototype(data={"cwd": "/w/a"}), headers={"x-claude-project": "c"}).document["source"]

    assert from_body["project"] == "b"
    assert from_header["project"] == "c"


# Problems ----------------------------------------------------------------------------------


def test_non_object_is_named():
    assert problems_of("text") == {"body": "must be a JSON object"}
    assert problems_of(["x"], prefix="events[4].") == {"events[4]": "must be a JSON object"}


def test_batch_prefix_names_the_event():
    problems = problems_of(prototype(sessionId="bad id", timestamp=5), prefix="events[3].")

    assert set(problems) == {"events[3].sessionId", "events[3].timestamp"}


def test_every_field_problem_is_named():
    problems = problems_of({"event": 1, "sessionId": "", "eventId": "a b", "data": [], "extra": 1})

    assert set(problems) == {"event", "sessionId", "eventId", "data", "extra"}
    assert problems["extra"].startswith("is not a field of an event")


def test_too_deep_data_is_named():
    data: dict[str, Any] = {}
    for _ in range(codec.MAX_DEPTH):
        data = {"a": data}

    assert problems_of(prototype(data=data)) == {"data": f"nests deeper than {codec.MAX_DEPTH} levels"}
