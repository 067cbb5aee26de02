"""AWS for the local stack: moto, in this process, and the template's tables created in it.

moto's `mock_aws` intercepts every botocore request to an AWS endpoint, in every thread, so the
handlers' own boto3 clients reach it unchanged. Requests to other URLs (the local stack's own
endpoints, later) pass through. moto's backends are not thread-safe (a query iterating a table
while a write changes it can fail), so requests are handed to moto one at a time.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from moto import mock_aws
from moto.core.models import MockAWS, botocore_stubber

from local.intrinsics import REGION, Resolver
from local.resources import TABLE
from local.template import TEMPLATE, create_table_arguments, time_to_live_attribute

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_log = logging.getLogger(__name__)

# Set for the whole process: fake credentials, one region, and nothing that could send a request
# to a real account (profiles, config files, endpoint overrides).
LOCAL_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # moto 5 + current botocore: DynamoDB Streams calls 404 without this.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    # No X-Ray daemon listens here.
    "POWERTOOLS_TRACE_DISABLED": "true",
}
_REMOVED_PREFIXES = ("AWS_ENDPOINT_URL",)
_REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


@dataclass(frozen=True)
class LocalTable:
    logical_id: str
    name: str
    stream_arn: str | None
    ttl_attribute: str | None


class LocalAws:
    """moto, started and stopped with the stack."""

    def __init__(self) -> None:
        self._mock: MockAWS | None = None
        self._unpatch: Callable[[], None] | None = None

    def start(self) -> None:
        isolate_environment()
        self._mock = mock_aws()
        self._mock.start()
        self._unpatch = _serialise_moto_requests()

    def stop(self) -> None:
        if self._unpatch is not None:
            self._unpatch()
            self._unpatch = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def dynamodb(self) -> DynamoDBClient:
        return boto3.client("dynamodb", region_name=REGION, config=Config(retries={"mode": "standard"}))

    def dynamodb_streams(self) -> Any:
        return boto3.client("dynamodbstreams", region_name=REGION, config=Config(retries={"mode": "standard"}))

    def forget_shard_iterator(self, iterator: str) -> None:
        """Drop a used shard iterator from moto, which keeps every iterator it ever handed out.

        A poller asks for records ten times a second, and each answer makes a new iterator: without
        this, moto's memory grows by tens of megabytes an hour.
        """
        try:
            from moto.core.models import DEFAULT_ACCOUNT_ID  # noqa: PLC0415 - moto internals, only when used
            from moto.dynamodbstreams.models import dynamodbstreams_backends  # noqa: PLC0415

            dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][REGION].shard_iterators.pop(iterator, None)
        except (ImportError, AttributeError, KeyError):  # another moto version: keep working, keep growing
            pass

    def create_tables(self, resolver: Resolver, template_path: Path = TEMPLATE) -> list[LocalTable]:
        """Create every AWS::DynamoDB::Table of the template, and record its StreamArn for GetAtt."""
        client = self.dynamodb()
        tables: list[LocalTable] = []
        for logical_id, resource in (resolver.template.get("Resources") or {}).items():
            if resource["Type"] != TABLE:
                continue
            name = resolver.ref(logical_id)
            arguments = resolver.resolve(create_table_arguments(logical_id, name, template_path))
            description = client.create_table(**arguments)["TableDescription"]
            stream_arn = description.get("LatestStreamArn")
            if stream_arn:
                resolver.attributes[(logical_id, "StreamArn")] = stream_arn
            ttl_attribute = time_to_live_attribute(logical_id, template_path)
            if ttl_attribute:
                client.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"AttributeName": ttl_attribute, "Enabled": True}
                )
            tables.append(LocalTable(logical_id, name, stream_arn, ttl_attribute))
        return tables


def isolate_environment() -> None:
    for name in list(os.environ):
        if name in _REMOVED or name.startswith(_REMOVED_PREFIXES):
            del os.environ[name]
    os.environ.update(LOCAL_AWS_ENVIRONMENT)


def _serialise_moto_requests() -> Callable[[], None]:
    """Hand moto one request at a time; returns what undoes it."""
    original = getattr(botocore_stubber, "process_request", None)
    if original is None:
        _log.warning("moto has no BotocoreStubber.process_request; requests to it are not serialised")
        return lambda: None
    lock = threading.RLock()

    def process_request(request: Any) -> Any:
        with lock:
            return original(request)

    botocore_stubber.process_request = process_request  # type: ignore[method-assign]

    def undo() -> None:
        del botocore_stubber.process_request

    return undo
