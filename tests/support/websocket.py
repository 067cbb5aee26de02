"""Fakes and readers for the WebSocket half: @connections, Lambda, clocks, stream records, API events."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local.streams import lambda_stream_event

MANAGEMENT_URL = os.environ["WEBSOCKET_MANAGEMENT_URL"]

# What a post may do instead of succeeding: raise this, or first wait this many seconds.
Outcome = BaseException | float | None


@cache
def _management_exceptions() -> Any:
    # A real client only for its modeled exception classes; it never makes a call.
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=MANAGEMENT_URL,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client.exceptions


def post_error(code: str, status: int) -> ClientError:
    """The exception botocore raises for a PostToConnection answered with `status` and `code`."""
    response: Any = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    error_class = _management_exceptions().from_code(code)
    return error_class(response, "PostToConnection")  # type: ignore[no-any-return]


def gone() -> ClientError:
    return post_error("GoneException", 410)


def throttled() -> ClientError:
    return post_error("LimitExceededException", 429)


def server_error() -> ClientError:
    return post_error("InternalServerErrorException", 500)


@dataclass
class Post:
    connection_id: str
    data: bytes
    started: float
    finished: float


class FakeManagementClient:
    """An @connections client: each connection follows its script of outcomes, then succeeds.

    `script[connection_id]` is consumed one post at a time: an exception is raised, a float is slept
    before succeeding, None succeeds. `always[connection_id]` applies to every post once the script
    is spent. Posts that succeed are recorded; every attempt is counted.
    """

    def __init__(self) -> None:
        self.exceptions = _management_exceptions()
        self.script: dict[str, list[Outcome]] = defaultdict(list)
        self.always: dict[str, Outcome] = {}
        self.sent: list[Post] = []
        self.attempts: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._origin = time.perf_counter()

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        started = time.perf_counter() - self._origin
        with self._lock:
            self.attempts[ConnectionId] += 1
            script = self.script[ConnectionId]
            outcome = script.pop(0) if script else self.always.get(ConnectionId)
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, float):
            time.sleep(outcome)
        with self._lock:
            self.sent.append(Post(ConnectionId, bytes(Data), started, time.perf_counter() - self._origin))
        return {}

    def raw(self, connection_id: str) -> list[bytes]:
        with self._lock:
            return [post.data for post in self.sent if post.connection_id == connection_id]

    def messages(self, connection_id: str) -> list[dict[str, Any]]:
        return [json.loads(data) for data in self.raw(connection_id)]

    def recipients(self) -> set[str]:
        with self._lock:
            return {post.connection_id for post in self.sent}


class FakeLambdaClient:
    """Records invoke calls; raises `fail_with` instead when it is set."""

    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail_with = fail_with

    def invoke(self, **request: Any) -> dict[str, Any]:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append(request)
        return {"StatusCode": 202}


class FakeClock:
    """Monotonic time that moves only when someone sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def split_messages(recorded: bytes) -> list[bytes]:
    """The messages moto's post_to_connection concatenated, each as it was posted."""
    text = recorded.decode()
    decoder = json.JSONDecoder()
    messages: list[bytes] = []
    position = 0
    while position < len(text):
        _, end = decoder.raw_decode(text, position)
        messages.append(text[position:end].encode())
        position = end
    return messages


def moto_posted(connection_id: str) -> list[bytes]:
    """What moto's @connections recorded for a connection (inside mock_aws)."""
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    if connection_id not in backend.connections:
        return []
    return split_messages(backend.connections[connection_id].data)


def moto_messages(connection_id: str) -> list[dict[str, Any]]:
    return [json.loads(message) for message in moto_posted(connection_id)]


def moto_recipients() -> set[str]:
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return {connection_id for connection_id, connection in backend.connections.items() if connection.data}


class StreamReader:
    """Reads a table's stream (moto) from the start, each `read` returning only records not read yet."""

    def __init__(self, table_name: str) -> None:
        self._streams = boto3.client("dynamodbstreams")
        self.arn: str = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        shard = self._streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self._iterator: str = self._streams.get_shard_iterator(
            StreamArn=self.arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]

    def read(self) -> list[dict[str, Any]]:
        response = self._streams.get_records(ShardIterator=self._iterator)
        self._iterator = response["NextShardIterator"]
        return list(response["Records"])

    def lambda_event(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return lambda_stream_event(records, self.arn)


def ws_event(
    route: str,
    connection_id: str,
    *,
    body: str | None = None,
    query: dict[str, str] | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A WebSocket API event as API Gateway hands it to the Lambda integration."""
    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    context: dict[str, Any] = {
        "routeKey": route,
        "eventType": event_type,
        "connectionId": connection_id,
        "requestId": f"req-{connection_id}-{route}",
        "stage": "test",
        "domainName": "abc123defg.execute-api.us-east-1.amazonaws.com",
        "apiId": "abc123defg",
        "connectedAt": 1_767_000_000_000,
        "requestTimeEpoch": 1_767_000_000_000,
        "identity": {"sourceIp": "203.0.113.9"},
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if query is not None:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = body
    return event


@dataclass
class Timer:
    """Wall time of a block: `with Timer() as timer: ...; timer.seconds`."""

    seconds: float = 0.0
    _started: float = field(default=0.0, repr=False)
    clock: Callable[[], float] = time.perf_counter

    def __enter__(self) -> Timer:
        self._started = self.clock()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = self.clock() - self._started
