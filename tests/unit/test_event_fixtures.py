"""The events/*.json fixtures for `sam local invoke` are answered by the real handlers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_events import dependencies
from local.lambda_runtime import LambdaContext
from tests.support.fakes import InMemoryEventStore
from tests.support.handlers import function_module

FIXTURES = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture(autouse=True)
def in_memory_store():
    dependencies.use_event_store(InMemoryEventStore())
    yield
    dependencies.use_event_store(None)


@pytest.mark.parametrize(
    ("fixture", "function", "status"),
    [("ingest-post.json", "ingest", 201), ("query-get.json", "query", 200), ("query-health.json", "query", 200)],
)
def test_fixture_is_answered(fixture, function, status):
    # GIVEN a fixture as `sam local invoke -e` would pass it
    event = json.loads((FIXTURES / fixture).read_text())

    # WHEN the function handles it
    response = function_module(function).lambda_handler(event, LambdaContext(function_name=function))

    # THEN it answers as API Gateway expects
    assert response["statusCode"] == status, response["body"]
    assert json.loads(response["body"])
