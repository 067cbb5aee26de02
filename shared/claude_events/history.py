"""History reads: newest N events matching a filter, returned oldest first, with a cursor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from claude_events import codec, keys, timestamps
from claude_events.cursor import CursorCodec, CursorError, fingerprint
from claude_events.errors import FieldProblem, validation_error
from claude_events.names import EVENT_NAMES_RULE, SESSION_ID_RULE, event_names, is_session_id
from claude_events.repository import EventStore, HistoryQuery

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# A Lambda response is at most 6 MB; stop short and hand out a cursor for the rest.
MAX_PAGE_BYTES = 5_000_000
_KNOWN_PARAMS = frozenset({"sessionId", "limit", "event", "since", "until", "cursor"})


@dataclass(frozen=True)
class HistoryRequest:
    session_id: str | None = None
    limit: int = DEFAULT_LIMIT
    event_names: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None

    def fingerprint(self) -> str:
        return fingerprint(self.session_id, self.event_names, self.since, self.until)


@dataclass(frozen=True)
class HistoryPage:
    event_texts: list[str]
    next_cursor: str | None

    def body(self) -> str:
        """The response JSON, assembled from stored JSON texts without re-serialising them."""
        cursor = "null" if self.next_cursor is None else f'"{self.next_cursor}"'
        return f'{{"events":[{",".join(self.event_texts)}],"count":{len(self.event_texts)},"nextCursor":{cursor}}}'


def parse_request(params: Mapping[str, str]) -> HistoryRequest:
    """Query-string parameters -> HistoryRequest; every problem is named in one 400."""
    problems = [
        FieldProblem(name, f"is not a query parameter; use {', '.join(sorted(_KNOWN_PARAMS))}")
        for name in sorted(set(params) - _KNOWN_PARAMS)
    ]
    session_id = params.get("sessionId")
    if session_id is not None and not is_session_id(session_id):
        problems.append(FieldProblem("sessionId", SESSION_ID_RULE))
    limit = _limit(params, problems)
    names = _event_names(params, problems)
    since, until = _time_bound(params, "since", problems), _time_bound(params, "until", problems)
    if since is not None and until is not None and since >= until:
        problems.append(FieldProblem("since", "must be earlier than until"))
    cursor = params.get("cursor")
    if cursor is not None and not cursor:
        problems.append(FieldProblem("cursor", "must not be empty"))
    if problems:
        raise validation_error(problems)
    return HistoryRequest(session_id, limit, names, since, until, cursor)


def _limit(params: Mapping[str, str], problems: list[FieldProblem]) -> int:
    text = params.get("limit")
    if text is None:
        return DEFAULT_LIMIT
    if text.isascii() and text.isdigit() and len(text) <= 6 and 1 <= int(text) <= MAX_LIMIT:
        return int(text)
    problems.append(FieldProblem("limit", f"must be a whole number from 1 to {MAX_LIMIT}"))
    return DEFAULT_LIMIT


def _event_names(params: Mapping[str, str], problems: list[FieldProblem]) -> tuple[str, ...]:
    if "event" not in params:
        return ()
    names = event_names(params["event"])
    if names is None:
        problems.append(FieldProblem("event", EVENT_NAMES_RULE))
        return ()
    return names


def _time_bound(params: Mapping[str, str], name: str, problems: list[FieldProblem]) -> datetime | None:
    if name not in params:
        return None
    try:
        return timestamps.parse(params[name])
    except timestamps.TimestampError as error:
        problems.append(FieldProblem(name, str(error)))
        return None


class HistoryService:
    def __init__(self, store: EventStore, cursors: CursorCodec, max_page_bytes: int = MAX_PAGE_BYTES) -> None:
        self._store = store
        self._cursors = cursors
        self._max_page_bytes = max_page_bytes

    def page(self, request: HistoryRequest) -> HistoryPage:
        upper = keys.time_bound(request.until) if request.until else None
        if request.cursor is not None:
            try:
                upper = self._cursors.decode(request.cursor, request.fingerprint())
            except CursorError as error:
                raise validation_error([FieldProblem("cursor", str(error))]) from None
        lower = keys.time_bound(request.since) if request.since else None
        if lower is not None and upper is not None and lower >= upper:
            return HistoryPage([], None)

        # One more than asked tells whether there is a next page.
        query = HistoryQuery(request.session_id, request.event_names, lower, upper, page_size=request.limit + 1)
        newest_first: list[tuple[str, str]] = []
        size = 0
        more = False
        for item in self._store.newest_first(query):
            if len(newest_first) == request.limit:
                more = True
                break
            text = codec.text_of_item(item)
            size += len(text) + 1
            if newest_first and size > self._max_page_bytes:
                more = True
                break
            newest_first.append((item["sk"]["S"], text))

        next_cursor = None
        if more:
            next_cursor = self._cursors.encode(newest_first[-1][0], request.fingerprint())
        return HistoryPage([text for _, text in reversed(newest_first)], next_cursor)
