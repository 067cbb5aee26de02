"""ISO 8601 parsing and the two forms we write: what clients see and what sort keys compare."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from claude_events import timestamps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-26T10:30:00Z", datetime(2026, 1, 26, 10, 30, tzinfo=UTC)),
        ("2026-01-26T10:30:00.123Z", datetime(2026, 1, 26, 10, 30, 0, 123_000, tzinfo=UTC)),
        ("2026-01-26T10:30:00.123456+00:00", datetime(2026, 1, 26, 10, 30, 0, 123_456, tzinfo=UTC)),
        ("2026-01-26T12:30:00+02:00", datetime(2026, 1, 26, 10, 30, tzinfo=UTC)),
        ("2026-01-26T05:30:00-05:00", datetime(2026, 1, 26, 10, 30, tzinfo=UTC)),
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_parse_gives_aware_utc(text, expected):
    # WHEN ISO 8601 text is parsed
    moment = timestamps.parse(text)

    # THEN it is the same instant, in UTC
    assert moment == expected
    assert moment.utcoffset() == timedelta(0)


def test_naive_time_is_taken_as_utc():
    assert timestamps.parse("2026-01-26T10:30:00") == datetime(2026, 1, 26, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "garbage-garbage",
        "2026-13-01T00:00:00Z",  # month 13
        "2026-02-30T00:00:00Z",  # no such day
        "2026-01-26T25:00:00Z",  # no such hour
        "2026-01-26",  # a date is not a date and time
        "2026-01-26 10:30:00Z",  # no T
        "1700000000.0",
        "2026-01-26T10:30:00Z and more",
        "２０２６-01-26T10:30:00Z",  # non-ASCII digits
        "2026-01-26T10:30:00.000000000000000000000Z",  # longer than 40 characters
        "",
    ],
)
def test_parse_rejects_what_is_not_a_date_and_time(text):
    with pytest.raises(timestamps.TimestampError, match="ISO 8601"):
        timestamps.parse(text)


def test_parse_rejects_times_before_1970():
    with pytest.raises(timestamps.TimestampError, match="1970"):
        timestamps.parse("1969-12-31T23:59:59Z")


@pytest.mark.parametrize("text", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"])
def test_parse_rejects_times_that_leave_the_calendar_in_utc(text):
    # GIVEN a local time whose UTC instant is past year 9999 (or before year 1)
    # THEN it is refused cleanly, not with an OverflowError
    with pytest.raises(timestamps.TimestampError, match="out of range"):
        timestamps.parse(text)


def test_display_uses_milliseconds_like_javascript():
    assert timestamps.display(datetime(2026, 1, 26, 10, 30, tzinfo=UTC)) == "2026-01-26T10:30:00.000Z"
    assert timestamps.display(datetime(2026, 1, 26, 10, 30, 0, 123_000, tzinfo=UTC)) == "2026-01-26T10:30:00.123Z"


def test_display_keeps_microseconds_the_client_sent():
    moment = timestamps.parse("2026-01-26T10:30:00.123456Z")

    assert timestamps.display(moment) == "2026-01-26T10:30:00.123456Z"
    assert timestamps.parse(timestamps.display(moment)) == moment


def test_sortable_is_fixed_width_and_sorts_as_time():
    # GIVEN instants from 1970 to 9999, some a microsecond apart
    base = datetime(2026, 1, 26, 10, 30, tzinfo=UTC)
    moments = [
        datetime(1970, 1, 1, tzinfo=UTC),
        base - timedelta(microseconds=1),
        base,
        base + timedelta(microseconds=1),
        base + timedelta(days=365 * 100),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ]

    texts = [timestamps.sortable(moment) for moment in moments]

    # THEN every form has one width and text order is time order
    assert len({len(text) for text in texts}) == 1
    assert sorted(texts) == texts
    assert texts[2] == "2026-01-26T10:30:00.000000Z"


def test_now_is_aware_utc():
    moment = timestamps.now()

    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)
