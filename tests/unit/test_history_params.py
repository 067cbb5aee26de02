"""GET /api/claude-events query parameters -> HistoryRequest, every problem named in one 400."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from claude_events.errors import RequestError
from claude_events.history import DEFAULT_LIMIT, MAX_LIMIT, HistoryRequest, parse_request
from claude_events.names import MAX_EVENT_NAMES


def problems_of(params: Mapping[str, str]) -> dict[str, str]:
    with pytest.raises(RequestError) as raised:
        parse_request(params)
    error = raised.value
    assert error.status == 400
    assert error.code == "validation_error"
    return {problem.field: problem.message for problem in error.problems}


def test_no_parameters_give_the_defaults():
    assert parse_request({}) == HistoryRequest(limit=DEFAULT_LIMIT)


def test_every_parameter_is_read():
    request = parse_request(
        {
            "sessionId": "4f3c2a1e-9b7d-4c1a-8e2f-0a1b2c3d4e5f",
            "limit": "25",
            "event": "PreToolUse,PostToolUse",
            "since": "2026-01-26T10:00:00Z",
            "until": "2026-01-26T12:00:00+01:00",
            "cursor": "abc.def",
        }
    )

    assert request == HistoryRequest(
        session_id="4f3c2a1e-9b7d-4c1a-8e2f-0a1b2c3d4e5f",
        limit=25,
        event_names=("PreToolUse", "PostToolUse"),
        since=datetime(2026, 1, 26, 10, tzinfo=UTC),
        until=datetime(2026, 1, 26, 11, tzinfo=UTC),
        cursor="abc.def",
    )


@pytest.mark.parametrize("limit", ["1", "100", str(MAX_LIMIT), "007"])
def test_limits_in_range_are_accepted(limit):
    assert parse_request({"limit": limit}).limit == int(limit)


@pytest.mark.parametrize("limit", ["0", str(MAX_LIMIT + 1), "abc", "-1", "1.5", "", " 5", "+5", "1e3", "٣", "9" * 40])
def test_limits_out_of_range_or_not_numbers_are_refused(limit):
    assert set(problems_of({"limit": limit})) == {"limit"}


def test_event_names_are_split_trimmed_and_deduplicated():
    request = parse_request({"event": "PreToolUse, Stop ,PreToolUse,FutureHookEvent"})

    assert request.event_names == ("PreToolUse", "Stop", "FutureHookEvent")


@pytest.mark.parametrize(
    "names",
    ["", "preToolUse", "Pre ToolUse", "Stop,", "#pk = :v", "Stop\x00", ",".join(f"E{n}" for n in range(21))],
)
def test_bad_event_names_are_refused(names):
    assert set(problems_of({"event": names})) == {"event"}


def test_up_to_max_event_names_are_accepted():
    names = ",".join(f"Event{n}" for n in range(MAX_EVENT_NAMES))

    assert len(parse_request({"event": names}).event_names) == MAX_EVENT_NAMES


@pytest.mark.parametrize(
    "session_id",
    ["", "abc def", " abc", "abc\n", "abc\r\n", "abc\x00", "-abc", "abc\u202edef", "abc\u200b", "😀", "a" * 129],
)
def test_bad_session_ids_are_refused(session_id):
    assert set(problems_of({"sessionId": session_id})) == {"sessionId"}


@pytest.mark.parametrize("session_id", ["a", "abc-123", "a:b=c/d+e@f.g_h", "a" * 128])
def test_session_ids_of_the_ingest_shape_are_accepted(session_id):
    assert parse_request({"sessionId": session_id}).session_id == session_id


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize(
    "value", ["garbage", "2026-13-01T00:00:00Z", "2026-01-26", "1700000000", "1969-12-31T23:59:59Z", ""]
)
def test_bad_time_bounds_are_refused(name, value):
    assert set(problems_of({name: value})) == {name}


@pytest.mark.parametrize("until", ["2026-01-26T10:00:00Z", "2026-01-26T09:00:00Z"])
def test_since_must_be_earlier_than_until(until):
    problems = problems_of({"since": "2026-01-26T10:00:00Z", "until": until})

    assert problems == {"since": "must be earlier than until"}


def test_unknown_parameters_are_named():
    problems = problems_of({"sessionid": "abc", "foo": "1", "limit": "5"})

    assert set(problems) == {"sessionid", "foo"}
    assert "sessionId" in problems["sessionid"]


def test_empty_cursor_is_refused():
    assert set(problems_of({"cursor": ""})) == {"cursor"}


def test_every_problem_is_named_in_one_error():
    problems = problems_of({"limit": "0", "since": "nope", "event": "bad name", "x": "1"})

    assert set(problems) == {"limit", "since", "event", "x"}


def test_fingerprint_ignores_limit_and_cursor_but_not_filters():
    base = parse_request({"sessionId": "a", "event": "Stop"})

    assert parse_request({"sessionId": "a", "event": "Stop", "limit": "5", "cursor": "x.y"}).fingerprint() == (
        base.fingerprint()
    )
    assert parse_request({"sessionId": "b", "event": "Stop"}).fingerprint() != base.fingerprint()
    assert parse_request({"sessionId": "a", "event": "Stop,PreToolUse"}).fingerprint() != base.fingerprint()
    assert (
        parse_request({"sessionId": "a", "event": "Stop", "since": "2026-01-01T00:00:00Z"}).fingerprint()
        != base.fingerprint()
    )
