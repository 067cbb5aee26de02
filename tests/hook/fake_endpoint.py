"""A fake Claude Events endpoint on loopback for the hook client's tests.

It speaks the real contract (POST one event or a batch, GET history, health, a WebSocket that
sends history on connect), dedupes by eventId as the server does, and can be switched between
modes: up, down (its port closed: connection refused), slow (stores, then answers after the
client's timeout), 500, 429, 401, 503 with a partial result. Every POST is recorded.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TOKEN = "ce_testtoken0001_" + "s" * 43
REJECTED_TOOL = "REJECT-ME"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Posted:
    status: int
    event_ids: list[str]
    size: int


@dataclass
class FakeEndpoint:
    port: int = field(default_factory=free_port)
    mode: str = "up"
    slow_seconds: float = 3.0
    max_body: int = 1_048_576
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: list[Posted] = field(default_factory=list)
    ws_connections: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ control

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def up(self, mode: str = "up") -> None:
        self.mode = mode
        if self._runner is None:
            self._runner = self._call(self._start())

    def down(self) -> None:
        """Close the port: connections are refused."""
        if self._runner is not None:
            self._call(self._runner.cleanup())
            self._runner = None

    def close(self) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def successful_ids(self) -> list[str]:
        """Every eventId in every POST answered 2xx in time, in order (a slow answer is not counted)."""
        with self._lock:
            return [event_id for posted in self.posts if posted.status < 300 for event_id in posted.event_ids]

    def sessions(self) -> list[str]:
        with self._lock:
            return sorted(event["sessionId"] for event in self.stored.values())

    # ------------------------------------------------------------------ server

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _start(self) -> web.AppRunner:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/api/claude-events", self._post)
        app.router.add_get("/api/claude-events", self._history)
        app.router.add_get("/api/health", self._health)
        app.router.add_get("/ws", self._websocket)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
        return runner

    def _record(self, status: int, ids: list[str], size: int) -> None:
        with self._lock:
            self.posts.append(Posted(status, ids, size))

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.read()
        mode = self.mode
        if mode == "401" or not self._authorised(request):
            self._record(401, [], len(body))
            return web.json_response({"error": "unauthorized", "message": "no valid token"}, status=401)
        if len(body) > self.max_body:
            self._record(413, [], len(body))
            return web.json_response({"error": "payload_too_large", "message": "too large"}, status=413)
        posted = json.loads(body)
        batch = isinstance(posted, dict) and "events" in posted
        events: list[dict[str, Any]] = posted["events"] if batch else [posted]
        ids = [str(event.get("eventId")) for event in events]
        if mode in ("500", "429"):
            self._record(int(mode), ids, len(body))
            headers = {"Retry-After": "1"} if mode == "429" else {}
            return web.json_response({"error": "busy", "message": mode}, status=int(mode), headers=headers)
        problems = [
            {"field": f"events[{index}].data.tool_name" if batch else "data.tool_name", "message": "is refused"}
            for index, event in enumerate(events)
            if event.get("data", {}).get("tool_name") == REJECTED_TOOL
        ]
        problems += [
            {"field": f"events[{index}].{name}" if batch else name, "message": "is required"}
            for index, event in enumerate(events)
            for name in ("eventId", "event", "sessionId", "timestamp", "source")
            if not event.get(name)
        ]
        if problems:
            self._record(400, ids, len(body))
            message = f"{problems[0]['field']}: {problems[0]['message']}"
            return web.json_response({"error": "validation_error", "message": message, "details": problems}, status=400)
        if mode == "503partial":
            self._store(events[:1])
            self._record(503, ids, len(body))
            failed = [{"index": index, "eventId": ids[index]} for index in range(1, len(ids))]
            return web.json_response(
                {"error": "storage_unavailable", "message": "retry", "stored": ids[:1], "failed": failed},
                status=503,
                headers={"Retry-After": "1"},
            )
        self._store(events)
        if mode == "slow":
            self._record(599, ids, len(body))  # stored, but the client gives up before the answer
            await asyncio.sleep(self.slow_seconds)
        else:
            self._record(201, ids, len(body))
        return web.json_response({"events": events, "count": len(events)}, status=201)

    def _store(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            for event in events:
                self.stored.setdefault(event["eventId"], event)  # the server keeps one copy per eventId

    def _matching(self, session: str | None) -> list[dict[str, Any]]:
        with self._lock:
            return [event for event in self.stored.values() if session in (None, event["sessionId"])]

    async def _history(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "unauthorized", "message": "no valid token"}, status=401)
        events = self._matching(request.query.get("sessionId"))
        return web.json_response({"events": events, "count": len(events), "nextCursor": None})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("token") != TOKEN:
            return web.json_response({"message": "Unauthorized"}, status=401)
        socket_response = web.WebSocketResponse()
        await socket_response.prepare(request)
        self.ws_connections += 1
        await socket_response.send_str(
            json.dumps({"type": "claude:events:history", "events": self._matching(request.query.get("sessionId"))})
        )
        async for message in socket_response:
            if message.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break
        return socket_response
