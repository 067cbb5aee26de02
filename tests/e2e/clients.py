"""Real aiohttp HTTP and WebSocket clients of the local stack, for the end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from local.resources import SERVERLESS_FUNCTION
from local.template import load
from tests.e2e.conftest import RunningStack

EVENTS = "/api/claude-events"
HISTORY = "claude:events:history"
ONE = "claude:event"
SEVERAL = "claude:events"


def stream_batching_window() -> float:
    """The longest MaximumBatchingWindowInSeconds of the template's DynamoDB stream events.

    Lambda (and the local stack) waits up to this long for a batch to fill before invoking the
    broadcast, so a lone event reaches the clients this much later than it is stored.
    """
    windows = [0.0]
    for resource in load()["Resources"].values():
        if resource["Type"] != SERVERLESS_FUNCTION:
            continue
        for event in (resource.get("Properties") or {}).get("Events", {}).values():
            if event.get("Type") == "DynamoDB":
                windows.append(float(event["Properties"].get("MaximumBatchingWindowInSeconds", 0)))
    return max(windows)


# "Within a second" of the batch going out: the template's batching window comes first.
DELIVERY_SECONDS = stream_batching_window() + 1.0


def session_id() -> str:
    return f"e2e-{uuid.uuid4()}"


def hook_event(session: str, event: str = "PreToolUse", **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": "2026-01-26T10:30:00Z",
        "event": event,
        "sessionId": session,
        "data": {"tool_name": "Read", "tool_input": {"file_path": "/home/me/src/shop/README.md"}},
        **extra,
    }


@dataclass
class LiveClient:
    """One WebSocket connection; every message it got, parsed, in order."""

    ws: aiohttp.ClientWebSocketResponse
    messages: list[dict[str, Any]] = field(default_factory=list)

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        message = await self.ws.receive(timeout=timeout)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"expected a text message, got {message.type!r} ({message.data!r})")
        parsed: dict[str, Any] = json.loads(message.data)
        self.messages.append(parsed)
        return parsed

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        """The first message (from now) that matches; the others are kept in `messages`."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching message within {timeout} s; got {self.messages}")
            try:
                message = await self.next(remaining)
            except TimeoutError:
                continue
            if predicate(message):
                return message

    async def history(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The events of the next history message(s) (history may come in several messages)."""
        first = await self.wait_for(lambda message: message["type"] == HISTORY, timeout)
        return list(first["events"])

    async def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """What arrives within `seconds` (expected: nothing)."""
        arrived: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                arrived.append(await self.next(remaining))
            except TimeoutError:
                break
        return arrived

    async def live_events(self, count: int, timeout: float) -> list[dict[str, Any]]:
        """The next `count` live events (from `claude:event` and `claude:events` messages)."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(events) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(events)} of {count} live events within {timeout} s: {self.messages}")
            message = await self.next(remaining)
            if message["type"] == ONE:
                events.append(message["event"])
            elif message["type"] == SEVERAL:
                events.extend(message["events"])
        return events

    async def send(self, payload: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(payload))


def ws_url(stack: RunningStack, token: str | None, **query: str) -> str:
    parameters = dict(query)
    if token is not None:
        parameters["token"] = token
    return f"{stack.ws_url}?{urlencode(parameters)}" if parameters else stack.ws_url


@asynccontextmanager
async def connected(
    http: aiohttp.ClientSession, stack: RunningStack, *, token: str | None = "", **query: str
) -> AsyncIterator[LiveClient]:
    """A client connected with the stack's token (or `token`; None sends none) and this filter."""
    url = ws_url(stack, stack.token if token == "" else token, **query)
    async with http.ws_connect(url, max_msg_size=1024 * 1024) as ws:
        yield LiveClient(ws)


async def post_events(
    http: aiohttp.ClientSession, stack: RunningStack, events: list[dict[str, Any]], token: str | None = ""
) -> list[dict[str, Any]]:
    """POST a batch; the stored events."""
    headers = {"Authorization": f"Bearer {stack.token if token == '' else token}"}
    async with http.post(f"{stack.base_url}{EVENTS}", json={"events": events}, headers=headers) as answer:
        body = await answer.json()
        assert answer.status == 201, body
        return list(body["events"])


def run(coroutine: Any) -> Any:
    """Run one test's client side (pytest-asyncio is not a dependency).

    On a thread of its own: in the same pytest worker, Playwright's sync API may hold an event loop
    running on the main thread, where asyncio.run would refuse to start another.
    """
    with ThreadPoolExecutor(max_workers=1) as runner:
        return runner.submit(asyncio.run, coroutine).result()


@asynccontextmanager
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        yield http
