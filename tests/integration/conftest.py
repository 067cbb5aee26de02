"""moto-backed AWS, with tables created from template.yaml so they cannot drift from it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from claude_events import dependencies
from local.template import create_table_arguments


@pytest.fixture
def dynamodb() -> Iterator[object]:
    with mock_aws():
        dependencies.use_event_store(None)
        yield boto3.client("dynamodb")
    dependencies.use_event_store(None)


@pytest.fixture
def events_table(dynamodb):
    dynamodb.create_table(**create_table_arguments("EventsTable", os.environ["EVENTS_TABLE_NAME"]))
    return os.environ["EVENTS_TABLE_NAME"]


@pytest.fixture
def connections_table(dynamodb):
    dynamodb.create_table(**create_table_arguments("ConnectionsTable", os.environ["CONNECTIONS_TABLE_NAME"]))
    return os.environ["CONNECTIONS_TABLE_NAME"]
