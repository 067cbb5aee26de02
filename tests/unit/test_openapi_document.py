"""The checked-in OpenAPI document is the one the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from claude_events.openapi import build, openapi_json

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_checked_in_document_matches_the_models():
    # GIVEN the document in docs/ and the one generated from the pydantic models
    checked_in = DOCUMENT.read_text()

    # WHEN they are compared
    generated = openapi_json()

    # THEN they are the same (run `make openapi` after changing a model)
    assert checked_in == generated


def test_document_describes_every_route_and_the_event_schema():
    document = build()

    assert set(document["paths"]) == {"/api/claude-events", "/api/health", "/api/openapi.json"}
    assert set(document["paths"]["/api/claude-events"]) == {"get", "post"}
    event_schema = document["components"]["schemas"]["ClaudeEvent"]
    assert {"eventId", "timestamp", "event", "sessionId", "data", "source", "receivedAt"} <= set(
        event_schema["required"]
    )
    assert json.loads(DOCUMENT.read_text())["openapi"].startswith("3.1")
