"""Call the real handlers with API Gateway-shaped events, as Lambda would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

from local.apigw import http_api_event
from local.lambda_runtime import LambdaContext, load_function_module


@cache
def function_module(name: str) -> ModuleType:
    return load_function_module(f"functions/{name}", module_name=f"test_functions_{name}_app")


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


# What the authorizer hands the functions for a token with both scopes.
AUTHORIZED = {"lambda": {"tokenName": "test-token", "tokenId": "test-token-id", "scopes": "ingest read"}}


def call_http(function: str, method: str, path: str, **kwargs: Any) -> HttpAnswer:
    kwargs.setdefault("authorizer", AUTHORIZED)
    event = http_api_event(method, path, **kwargs)
    response = function_module(function).lambda_handler(event, LambdaContext(function_name=function))
    return HttpAnswer(response["statusCode"], response.get("headers", {}), response.get("body", ""))


def post_events(body: Any, **kwargs: Any) -> HttpAnswer:
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
    return call_http("ingest", "POST", "/api/claude-events", body=raw, headers=headers, **kwargs)


def get_events(query: str = "", **kwargs: Any) -> HttpAnswer:
    return call_http("query", "GET", "/api/claude-events", query=query, **kwargs)
