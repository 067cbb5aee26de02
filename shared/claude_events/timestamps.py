"""ISO 8601 parsing and the two canonical forms we write.

`display` is what clients see (milliseconds, like JavaScript's toISOString, or microseconds
when the client sent them); `sortable` is fixed-width so that sort keys compare as text.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TEXT_LENGTH = 40


class TimestampError(ValueError):
    pass


def parse(text: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text; a naive time is taken as UTC."""
    if not 10 < len(text) <= _MAX_TEXT_LENGTH or not text.isascii() or "T" not in text.upper():
        raise TimestampError("must be an ISO 8601 date and time, e.g. 2026-01-26T10:30:00Z")
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        raise TimestampError("must be an ISO 8601 date and time, e.g. 2026-01-26T10:30:00Z") from None
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise TimestampError("is out of range") from None
    if moment < EARLIEST:
        raise TimestampError("must not be before 1970-01-01T00:00:00Z")
    return moment


def display(moment: datetime) -> str:
    """`moment` (UTC) as ISO 8601 with Z: milliseconds, or microseconds when it has them."""
    precision = "microseconds" if moment.microsecond % 1000 else "milliseconds"
    return moment.replace(tzinfo=None).isoformat(timespec=precision) + "Z"


def sortable(moment: datetime) -> str:
    """`moment` (UTC) at fixed width, so that texts sort as times do."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now() -> datetime:
    """The current UTC time to the millisecond, the precision clients display."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
