"""Posting to one connection: 410, 429 and 5xx as API Gateway answers them, through botocore's Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from claude_events.delivery import THROTTLE_BASE_DELAY, THROTTLE_RETRIES, Delivered, Poster
from tests.support.websocket import MANAGEMENT_URL, FakeClock, FakeManagementClient, gone, server_error

CONNECTION = "L0SM9cOFvHcCIhw="
DATA = b'{"type":"claude:event","event":{}}'
EXPECTED = {"ConnectionId": CONNECTION, "Data": DATA}


@pytest.fixture
def client() -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=MANAGEMENT_URL, region_name="us-east-1")


@pytest.fixture
def stubber(client) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def answer(stubber: Stubber, status: int, code: str = "") -> None:
    if status == 200:
        stubber.add_response("post_to_connection", {}, EXPECTED)
    else:
        stubber.add_client_error("post_to_connection", code, http_status_code=status, expected_params=EXPECTED)


def test_a_post_that_succeeds_is_sent(client, stubber, clock):
    answer(stubber, 200)

    assert Poster(client, sleep=clock.sleep, clock=clock).post(CONNECTION, DATA) is Delivered.SENT
    assert clock.sleeps == []


def test_410_is_gone_and_not_retried(client, stubber, clock):
    # GIVEN a closed connection
    answer(stubber, 410, "GoneException")

    # WHEN a message is posted
    outcome = Poster(client, sleep=clock.sleep, clock=clock).post(CONNECTION, DATA)

    # THEN it is reported gone after one call (the stubber holds no other answer)
    assert outcome is Delivered.GONE
    assert clock.sleeps == []


def test_429_is_retried_with_growing_backoff_then_sent(client, stubber, clock):
    # GIVEN a connection throttled three times, then accepting
    for _ in range(3):
        answer(stubber, 429, "LimitExceededException")
    answer(stubber, 200)
    poster = Poster(client, sleep=clock.sleep, clock=clock)

    # WHEN a message is posted
    outcome = poster.post(CONNECTION, DATA)

    # THEN it is sent on the fourth call, after three jittered, doubling waits
    assert outcome is Delivered.SENT
    assert poster.throttled == 3
    assert len(clock.sleeps) == 3
    for attempt, slept in enumerate(clock.sleeps):
        nominal = THROTTLE_BASE_DELAY * 2**attempt
        assert 0.5 * nominal <= slept <= 1.5 * nominal


def test_429_that_never_clears_fails_after_bounded_retries(client, stubber, clock):
    for _ in range(THROTTLE_RETRIES + 1):
        answer(stubber, 429, "LimitExceededException")
    poster = Poster(client, sleep=clock.sleep, clock=clock)

    assert poster.post(CONNECTION, DATA) is Delivered.FAILED
    assert poster.throttled == THROTTLE_RETRIES + 1
    assert len(clock.sleeps) == THROTTLE_RETRIES
    assert sum(clock.sleeps) < 2.0  # a Lambda's budget is seconds; a connection cannot take it all


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "InternalServerErrorException"), (403, "ForbiddenException"), (413, "PayloadTooLargeException")],
)
def test_other_errors_fail_without_retry(client, stubber, clock, status: int, code: str):
    answer(stubber, status, code)

    assert Poster(client, sleep=clock.sleep, clock=clock).post(CONNECTION, DATA) is Delivered.FAILED
    assert clock.sleeps == []


def test_gone_is_caught_before_the_client_error_it_subclasses(client):
    # The AWS chat sample's trap: GoneException is a ClientError, so order of except clauses matters
    assert issubclass(client.exceptions.GoneException, ClientError)
    # (Built from this client: moto resets boto3's default session, and with it the classes.)
    error = client.exceptions.GoneException({"Error": {"Code": "GoneException", "Message": "gone"}}, "PostToConnection")
    assert isinstance(error, ClientError)


@pytest.mark.parametrize(
    "error",
    [
        ReadTimeoutError(endpoint_url=MANAGEMENT_URL),
        EndpointConnectionError(endpoint_url=MANAGEMENT_URL),
        ConnectionClosedError(endpoint_url=MANAGEMENT_URL),
    ],
)
def test_a_network_error_fails_that_post_instead_of_raising(clock, error: Exception):
    # GIVEN a connection whose post times out or loses its TCP connection (botocore raises, not a ClientError)
    client = FakeManagementClient()
    client.script[CONNECTION] = [error]

    # WHEN a message is posted
    outcome = Poster(client, sleep=clock.sleep, clock=clock).post(CONNECTION, DATA)  # type: ignore[arg-type]

    # THEN that post failed; nothing escapes to take the rest of a fan-out down with it
    assert outcome is Delivered.FAILED


def test_post_when_established_retries_410_until_the_connection_opens(clock):
    # GIVEN a connection API Gateway has not established yet: 410 twice, then open
    client = FakeManagementClient()
    client.script[CONNECTION] = [gone(), gone()]
    poster = Poster(client, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]

    # WHEN the first message is posted with a 5 s deadline
    outcome = poster.post_when_established(CONNECTION, DATA, deadline=clock() + 5)

    # THEN it arrives on the third try after two short waits
    assert outcome is Delivered.SENT
    assert client.raw(CONNECTION) == [DATA]
    assert client.attempts[CONNECTION] == 3
    assert len(clock.sleeps) == 2
    assert sum(clock.sleeps) < 1


def test_post_when_established_gives_up_at_the_deadline(clock):
    # GIVEN a connection that never opens
    client = FakeManagementClient()
    client.always[CONNECTION] = gone()
    poster = Poster(client, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    start = clock()

    # WHEN the first message is posted with a 5 s deadline
    outcome = poster.post_when_established(CONNECTION, DATA, deadline=start + 5)

    # THEN it is gone, the deadline was not overrun, and the retries were spaced, not a busy loop
    assert outcome is Delivered.GONE
    assert clock() <= start + 5
    assert clock() >= start + 4
    assert 5 <= client.attempts[CONNECTION] <= 20
    assert max(clock.sleeps) <= 0.5


def test_post_when_established_does_not_retry_other_failures(clock):
    client = FakeManagementClient()
    client.always[CONNECTION] = server_error()
    poster = Poster(client, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]

    assert poster.post_when_established(CONNECTION, DATA, deadline=clock() + 5) is Delivered.FAILED
    assert client.attempts[CONNECTION] == 1
