"""The OpenAPI document of the HTTP API, generated from the pydantic models.

`python -m claude_events.openapi` prints it; docs/openapi.json is that output, checked in, and a
test fails when the two differ.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import models_json_schema

from claude_events import history
from claude_events.models import (
    ErrorBody,
    EventPage,
    Health,
    IncomingEvent,
    IngestBatch,
    IngestedMany,
    IngestedOne,
    RawHookInput,
    StorageUnavailableBody,
)

_REF = "#/components/schemas/{model}"
_MODELS = (
    IncomingEvent,
    RawHookInput,
    IngestBatch,
    IngestedOne,
    IngestedMany,
    EventPage,
    ErrorBody,
    StorageUnavailableBody,
    Health,
)


def _ref(model: type) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _error(description: str) -> dict[str, Any]:
    return _json(_ref(ErrorBody), description)


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def build() -> dict[str, Any]:
    _, definitions = models_json_schema([(model, "validation") for model in _MODELS], ref_template=_REF)
    schemas = definitions.get("$defs", {})
    ingest_body = {
        "oneOf": [
            _ref(IncomingEvent),
            _ref(RawHookInput),
            _ref(IngestBatch),
            {
                "type": "array",
                "items": {"oneOf": [_ref(IncomingEvent), _ref(RawHookInput)]},
                "minItems": 1,
                "maxItems": 100,
            },
        ]
    }
    bearer: list[dict[str, list[str]]] = [{"bearerToken": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Claude Events",
            "version": "1.0.0",
            "description": "Collects Claude Code hook events from many machines and serves their history.",
        },
        "paths": {
            "/api/claude-events": {
                "post": {
                    "operationId": "ingestEvents",
                    "summary": "Store one event, or a batch of up to 100",
                    "security": bearer,
                    "requestBody": {"required": True, "content": {"application/json": {"schema": ingest_body}}},
                    "responses": {
                        "201": {
                            "description": "Every event was stored",
                            "content": {
                                "application/json": {"schema": {"oneOf": [_ref(IngestedOne), _ref(IngestedMany)]}}
                            },
                        },
                        "400": _error("The body or an event is invalid; details name each field"),
                        "401": _error("No valid token"),
                        "403": _error("The token lacks the ingest scope"),
                        "413": _error("The body is over the size limit"),
                        "503": _json(
                            _ref(StorageUnavailableBody),
                            "Storage refused some events; retry those listed (retries are idempotent)",
                            {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
                        ),
                    },
                },
                "get": {
                    "operationId": "listEvents",
                    "summary": "History: the newest events matching the filters, oldest first",
                    "security": bearer,
                    "parameters": [
                        _query("sessionId", "Only this session's events", TypeAdapter(str).json_schema()),
                        _query(
                            "limit",
                            "How many events",
                            {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": history.MAX_LIMIT,
                                "default": history.DEFAULT_LIMIT,
                            },
                        ),
                        _query("event", "Hook event names, separated by commas", {"type": "string"}),
                        _query("since", "ISO 8601; events at or after", {"type": "string", "format": "date-time"}),
                        _query("until", "ISO 8601; events before", {"type": "string", "format": "date-time"}),
                        _query("cursor", "nextCursor of the previous page", {"type": "string"}),
                    ],
                    "responses": {
                        "200": _json(_ref(EventPage), "A page of events"),
                        "400": _error("A parameter is invalid; details name it"),
                        "401": _error("No valid token"),
                        "403": _error("The token lacks the read scope"),
                    },
                },
            },
            "/api/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness; needs no token",
                    "responses": {"200": _json(_ref(Health), "The service answers")},
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": bearer,
                    "responses": {"200": {"description": "The OpenAPI document"}},
                }
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerToken": {"type": "http", "scheme": "bearer"}},
        },
    }


@cache
def openapi_json() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(openapi_json(), end="")
