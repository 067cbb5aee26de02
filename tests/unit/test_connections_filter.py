"""Connection filters: matching, parsing the connect URL, and how the connections table stores them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from claude_events.connections import CONNECTION_LIFETIME_SECONDS, Connection, ConnectionStore, EventFilter
from claude_events.errors import RequestError
from claude_events.websocket import Replay, filter_from_query

TABLE = "connections"
NOW = 1_767_000_000.0


@pytest.mark.parametrize(
    ("event_filter", "session_id", "event_name", "expected"),
    [
        # no filter: everything
        (EventFilter(), "s1", "PreToolUse", True),
        (EventFilter(), "s2", "Stop", True),
        # sessionId only
        (EventFilter("s1"), "s1", "PreToolUse", True),
        (EventFilter("s1"), "s1", "Stop", True),
        (EventFilter("s1"), "s2", "PreToolUse", False),
        # event names only
        (EventFilter(None, frozenset({"PreToolUse", "PostToolUse"})), "s1", "PreToolUse", True),
        (EventFilter(None, frozenset({"PreToolUse", "PostToolUse"})), "s9", "PostToolUse", True),
        (EventFilter(None, frozenset({"PreToolUse", "PostToolUse"})), "s1", "Stop", False),
        # both: the session and one of the names
        (EventFilter("s1", frozenset({"Stop"})), "s1", "Stop", True),
        (EventFilter("s1", frozenset({"Stop"})), "s2", "Stop", False),
        (EventFilter("s1", frozenset({"Stop"})), "s1", "PreToolUse", False),
        (EventFilter("s1", frozenset({"Stop"})), "s2", "PreToolUse", False),
    ],
)
def test_filter_matching(event_filter: EventFilter, session_id: str, event_name: str, expected: bool):
    assert event_filter.matches(session_id, event_name) is expected


def test_names_match_exactly():
    # Hook event names are case-sensitive and never prefixes of one another for matching purposes
    assert not EventFilter(None, frozenset({"Stop"})).matches("s1", "SubagentStop")
    assert not EventFilter(None, frozenset({"stop"})).matches("s1", "Stop")
    assert not EventFilter("s1").matches("s10", "Stop")


def test_equal_filters_are_one_key():
    # The broadcaster groups connections by filter: equal filters must hash alike
    first = EventFilter("s1", frozenset({"Stop", "PreToolUse"}))
    second = EventFilter("s1", frozenset(["PreToolUse", "Stop"]))
    assert {first: 1, second: 2} == {first: 2}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, EventFilter()),
        ({"sessionId": "", "events": ""}, EventFilter()),
        ({"sessionId": "abc-123"}, EventFilter("abc-123")),
        ({"events": "PreToolUse"}, EventFilter(None, frozenset({"PreToolUse"}))),
        ({"events": "PreToolUse, PostToolUse"}, EventFilter(None, frozenset({"PreToolUse", "PostToolUse"}))),
        (
            {"sessionId": "4f3c2a1e-9b7d", "events": "Stop,Stop", "token": "ignored"},
            EventFilter("4f3c2a1e-9b7d", frozenset({"Stop"})),
        ),
    ],
)
def test_filter_from_connect_url(params: dict[str, str], expected: EventFilter):
    assert filter_from_query(params) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"events": "bad name"}, "events"),
        ({"events": "PreToolUse,"}, "events"),
        ({"events": "PreToolUse,,Stop"}, "events"),
        ({"events": "preToolUse"}, "events"),
        ({"events": ",".join(f"Event{index}" for index in range(21))}, "events"),
        ({"sessionId": "has space"}, "sessionId"),
        ({"sessionId": "-starts-with-dash"}, "sessionId"),
        ({"sessionId": "x" * 129}, "sessionId"),
        ({"sessionId": "../../etc"}, "sessionId"),
    ],
)
def test_bad_connect_filter_names_the_parameter(params: dict[str, str], field: str):
    with pytest.raises(RequestError) as raised:
        filter_from_query(params)

    assert raised.value.status == 400
    assert [problem.field for problem in raised.value.problems] == [field]
    assert raised.value.message.startswith(f"{field}:")


def test_both_bad_parameters_are_named_at_once():
    with pytest.raises(RequestError) as raised:
        filter_from_query({"sessionId": "no spaces allowed", "events": "bad name"})

    assert {problem.field for problem in raised.value.problems} == {"sessionId", "events"}


@pytest.mark.parametrize(
    "event_filter",
    [
        EventFilter(),
        EventFilter("s1"),
        EventFilter(None, frozenset({"Stop", "PreToolUse"})),
        EventFilter("s1", frozenset({"Stop"})),
    ],
)
def test_replay_payload_round_trips_through_json(event_filter: EventFilter):
    # The replay crosses an asynchronous Lambda invocation as JSON
    replay = Replay("conn-1=", event_filter, 250)

    assert Replay.from_payload(json.loads(json.dumps(replay.payload()))) == replay


# The table itself, through a stubbed DynamoDB client (integration tests cover it on moto).


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def store_of(client: Any) -> ConnectionStore:
    return ConnectionStore(client, TABLE, wall_clock=lambda: NOW)


@pytest.mark.parametrize(
    ("connection", "filter_attributes"),
    [
        (Connection("c1", EventFilter()), {}),
        (
            Connection("c1", EventFilter("s1", frozenset({"Stop", "PreToolUse"})), "alice-laptop"),
            {"sessionId": {"S": "s1"}, "events": {"SS": ["PreToolUse", "Stop"]}, "principal": {"S": "alice-laptop"}},
        ),
    ],
)
def test_save_writes_the_filter_and_a_ttl(stubbed, connection: Connection, filter_attributes: dict[str, Any]):
    client, stubber = stubbed
    item = {
        "connectionId": {"S": "c1"},
        "connectedAt": {"S": ANY},
        "connectedAtEpoch": {"N": str(int(NOW))},
        "ttl": {"N": str(int(NOW) + CONNECTION_LIFETIME_SECONDS)},
        **filter_attributes,
    }
    stubber.add_response("put_item", {}, {"TableName": TABLE, "Item": item})

    store_of(client).save(connection)


@pytest.mark.parametrize(
    ("event_filter", "expression", "values"),
    [
        (EventFilter(), "REMOVE #s, #e", None),
        (EventFilter("s1"), "SET #s = :sessionId REMOVE #e", {":sessionId": {"S": "s1"}}),
        (EventFilter(None, frozenset({"Stop"})), "SET #e = :events REMOVE #s", {":events": {"SS": ["Stop"]}}),
        (
            EventFilter("s1", frozenset({"Stop"})),
            "SET #s = :sessionId, #e = :events",
            {":sessionId": {"S": "s1"}, ":events": {"SS": ["Stop"]}},
        ),
    ],
)
def test_update_filter_sets_what_is_given_and_removes_the_rest(
    stubbed, event_filter: EventFilter, expression: str, values: dict[str, Any] | None
):
    client, stubber = stubbed
    request: dict[str, Any] = {
        "TableName": TABLE,
        "Key": {"connectionId": {"S": "c1"}},
        "UpdateExpression": expression,
        "ConditionExpression": "attribute_exists(connectionId)",
        "ExpressionAttributeNames": {"#s": "sessionId", "#e": "events"},
    }
    if values:
        request["ExpressionAttributeValues"] = values
    stubber.add_response("update_item", {}, request)

    assert store_of(client).update_filter("c1", event_filter) is True


def test_update_filter_of_an_unknown_connection_is_false(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("update_item", service_error_code="ConditionalCheckFailedException", http_status_code=400)

    assert store_of(client).update_filter("gone", EventFilter("s1")) is False


def test_all_reads_every_page_and_skips_expired_records(stubbed):
    # GIVEN a scan answered in two pages
    client, stubber = stubbed
    request = {
        "TableName": TABLE,
        "FilterExpression": "#t > :now",
        "ExpressionAttributeNames": {"#t": "ttl"},
        "ExpressionAttributeValues": {":now": {"N": str(int(NOW))}},
    }
    first = {"connectionId": {"S": "c1"}, "sessionId": {"S": "s1"}}
    second = {"connectionId": {"S": "c2"}, "events": {"SS": ["Stop"]}, "principal": {"S": "bob"}}
    stubber.add_response("scan", {"Items": [first], "LastEvaluatedKey": {"connectionId": {"S": "c1"}}}, request)
    stubber.add_response("scan", {"Items": [second]}, {**request, "ExclusiveStartKey": {"connectionId": {"S": "c1"}}})

    # WHEN every connection is read
    found = list(store_of(client).all())

    # THEN both pages are read, each record with its filter
    assert found == [
        Connection("c1", EventFilter("s1")),
        Connection("c2", EventFilter(None, frozenset({"Stop"})), "bob"),
    ]
