"""WebSocket fan-out of the real Broadcaster: `python -m bench.fanout` from the repo root (issue #3).

Posts go to a fake API Gateway management client whose `post_to_connection` sleeps 20 ms (a
PostToConnection round trip from Lambda to API Gateway in the same region) and records every
message; connections come from a fake ConnectionStore (`all()` and `delete()`), so no DynamoDB and
no moto. Events are real stored event JSON (ingest's normalisation and codec), about 1 KB each.

Cases: one event, and one stream batch of 100 events, to 10, 100 and 1000 connections whose filter
matches everything (every connection gets every event: the most messages and bytes). Each is run
against the sequential loop of the AWS chat sample (`for connection in connections: post(...)`)
posting the same packed messages, measured in the same run.

  wall       median of REPEATS broadcasts on a warm Broadcaster (its thread pool already started, as
             in a warm Lambda), without tracemalloc, which slows allocation;
  peak mem   tracemalloc's peak during one more broadcast (Python allocations only: not the
             threads' stacks);
  floor      ceil(connections / workers) x 20 ms, the best a pool of `workers` threads can do.

Then two smaller tables for what limits it: the fake client at 1000 connections by thread count,
and the real botocore client that dependencies.py builds (max_pool_connections = workers, SigV4,
HTTP) against a stub @connections server in another process that answers after 20 ms (and 0 ms,
to show the client's own CPU cost per post, which the GIL serialises).

Figures are printed, never asserted. Targets: 1000 connections in <= 1 s (>= 20x the sequential
loop), and exactly one message per connection per batch whenever the batch fits in 128 KB.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import FUNCTION_ENV, SHARED, machine_summary, table

if str(SHARED) not in sys.path:
    sys.path.insert(0, str(SHARED))

from claude_events import codec, messages
from claude_events.broadcast import Broadcaster, LiveEvent
from claude_events.connections import Connection, EventFilter
from claude_events.normalize import Policy, canonical_event
from claude_events.received import Received
from claude_events.settings import WebSocketSettings

POST_LATENCY = 0.020
CONNECTION_COUNTS = (10, 100, 1000)
BATCH_SIZES = (1, 100)
REPEATS = 3
SWEEP_WORKERS = (16, 64, 128, 256)
TARGET_SECONDS_1000 = 1.0
TARGET_SPEEDUP = 20.0
WORKERS: int = int(WebSocketSettings.model_fields["fanout_workers"].default)
SESSION_ID = "4f3c2a1e-9b7d-4c1a-8e2f-0a1b2c3d4e5f"


class _Exceptions:
    """The two exception classes delivery.Poster catches by name on the client."""

    class GoneException(Exception):
        pass

    class LimitExceededException(Exception):
        pass


class FakeManagement:
    """post_to_connection takes POST_LATENCY (sleeping, so the GIL is free, as in a socket wait)."""

    exceptions = _Exceptions

    def __init__(self, latency: float = POST_LATENCY) -> None:
        self._latency = latency
        self._lock = threading.Lock()
        self.per_connection: Counter[str] = Counter()
        self.bytes_sent = 0
        self.oversized = 0

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        time.sleep(self._latency)
        with self._lock:
            self.per_connection[ConnectionId] += 1
            self.bytes_sent += len(Data)
            self.oversized += len(Data) > messages.MAX_MESSAGE_BYTES
        return {}

    def reset(self) -> None:
        with self._lock:
            self.per_connection.clear()
            self.bytes_sent = 0
            self.oversized = 0


class FakeConnectionStore:
    """The two methods Broadcaster uses: all() and delete()."""

    def __init__(self, count: int) -> None:
        self._connections = [Connection(f"conn-{index:05d}=", EventFilter()) for index in range(count)]
        self.deleted: list[str] = []

    def all(self) -> Iterator[Connection]:
        yield from self._connections

    def delete(self, connection_id: str) -> None:
        self.deleted.append(connection_id)


def make_events(count: int) -> list[LiveEvent]:
    """PostToolUse events as ingest stores them: a Bash call with a few lines of output, ~1 KB."""
    received = Received(datetime(2026, 11, 25, 10, 0, tzinfo=UTC), "203.0.113.7", {"x-claude-machine": "alice-mbp"})
    policy = Policy(strict_event_names=False, max_future_skew=timedelta(minutes=5))
    events = []
    for index in range(count):
        posted = {
            "event": "PostToolUse",
            "sessionId": SESSION_ID,
            "data": {
                "cwd": "/home/dev/src/claude-events",
                "transcript_path": f"/home/dev/.claude/projects/-home-dev-src-claude-events/{SESSION_ID}.jsonl",
                "tool_name": "Bash",
                "tool_use_id": f"toolu_01bench{index:08d}",
                "tool_input": {"command": f"pytest -q tests/unit -k case_{index}", "description": "Run unit tests"},
                "tool_response": {
                    "stdout": "".join(f"tests/unit/test_case_{index}_{line}.py ....  [{line}%]\n" for line in range(8)),
                    "stderr": "",
                    "interrupted": False,
                },
            },
        }
        text = codec.encode(canonical_event(posted, received, policy).document).json_text
        events.append(LiveEvent(SESSION_ID, "PostToolUse", text))
    return events


def sequential_fanout(management: FakeManagement, store: FakeConnectionStore, events: list[LiveEvent]) -> None:
    """The AWS chat sample's loop, with the same packed messages: one connection after another."""
    texts = [event.json_text for event in events]
    packed = messages.live_messages(texts)
    for connection in store.all():
        for message in packed:
            management.post_to_connection(ConnectionId=connection.connection_id, Data=message)


@dataclass
class Case:
    connections: int
    events: int
    batch_bytes: int
    wall: float
    messages_sent: int
    per_connection: set[int]
    oversized: int
    peak_bytes: int
    sequential: float | None

    @property
    def floor(self) -> float:
        return math.ceil(self.connections / WORKERS) * POST_LATENCY

    @property
    def fits(self) -> bool:
        return self.batch_bytes <= messages.MAX_MESSAGE_BYTES


def _broadcast_once(broadcaster: Broadcaster, events: list[LiveEvent]) -> float:
    report = broadcaster.broadcast(events)
    if report.failed or report.pruned:
        raise RuntimeError(f"fan-out failed: {len(report.failed)} failed, {len(report.pruned)} pruned")
    return report.seconds


def run_case(connection_count: int, events: list[LiveEvent], with_sequential: bool) -> Case:
    management = FakeManagement()
    store = FakeConnectionStore(connection_count)
    broadcaster = Broadcaster(management, store, workers=WORKERS)  # type: ignore[arg-type]
    try:
        _broadcast_once(broadcaster, events)  # warm: start the pool's threads, as a warm Lambda has them
        walls = []
        for _ in range(REPEATS):
            management.reset()
            started = time.perf_counter()
            _broadcast_once(broadcaster, events)
            walls.append(time.perf_counter() - started)
        per_connection = set(management.per_connection.values())
        if len(management.per_connection) != connection_count:
            per_connection.add(0)
        sent, oversized = sum(management.per_connection.values()), management.oversized

        tracemalloc.start()
        tracemalloc.reset_peak()
        _broadcast_once(broadcaster, events)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        broadcaster._pool.shutdown(wait=True)

    sequential = None
    if with_sequential:
        baseline = FakeManagement()
        started = time.perf_counter()
        sequential_fanout(baseline, store, events)
        sequential = time.perf_counter() - started
    batch_bytes = sum(len(message) for message in messages.live_messages([event.json_text for event in events]))
    return Case(
        connections=connection_count,
        events=len(events),
        batch_bytes=batch_bytes,
        wall=statistics.median(walls),
        messages_sent=sent,
        per_connection=per_connection,
        oversized=oversized,
        peak_bytes=peak,
        sequential=sequential,
    )


# An @connections endpoint in another process (its own GIL, as API Gateway is another machine):
# every POST answers 200 after `latency` seconds; HTTP/1.1 keep-alive, one thread per connection.
_STUB_SERVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LATENCY = float(sys.argv[1])

class Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(LATENCY)
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
server.daemon_threads = True
server.request_queue_size = 1024
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@contextlib.contextmanager
def connections_endpoint(latency: float) -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-c", _STUB_SERVER, str(latency)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class RealCase:
    workers: int
    events: int
    wall: float
    cpu_per_post: float
    messages_sent: int


def run_real_client(endpoint: str, connection_count: int, events: list[LiveEvent], workers: int) -> RealCase:
    """The Broadcaster over the client dependencies.py builds (pool as large as the thread count)."""
    from claude_events.dependencies import management_client

    store = FakeConnectionStore(connection_count)
    broadcaster = Broadcaster(management_client(endpoint, pool_size=workers), store, workers=workers)
    try:
        _broadcast_once(broadcaster, events)  # warm: threads started, pool connections open
        walls, cpus, sent = [], [], 0
        for _ in range(REPEATS):
            cpu, started = time.process_time(), time.perf_counter()
            report = broadcaster.broadcast(events)
            walls.append(time.perf_counter() - started)
            cpus.append((time.process_time() - cpu) / max(report.messages_sent, 1))
            sent = report.messages_sent
            if report.failed or report.pruned:
                raise RuntimeError(f"fan-out failed: {len(report.failed)} failed, {len(report.pruned)} pruned")
    finally:
        broadcaster._pool.shutdown(wait=True)
    return RealCase(workers, len(events), statistics.median(walls), statistics.median(cpus), sent)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _row(case: Case, estimated: dict[int, float]) -> list[str]:
    if case.sequential is not None:
        sequential, speedup = _ms(case.sequential), f"{case.sequential / case.wall:,.1f}x"
    else:
        guess = estimated[case.connections]
        sequential, speedup = f"~{_ms(guess)} (est.)", f"~{guess / case.wall:,.1f}x"
    per_connection = ",".join(str(count) for count in sorted(case.per_connection))
    return [
        f"{case.events} event" + ("s" if case.events > 1 else ""),
        f"{case.connections:,}",
        f"{case.batch_bytes / 1024:,.1f} KB",
        _ms(case.wall),
        _ms(case.floor),
        f"{case.messages_sent:,}",
        per_connection,
        f"{case.peak_bytes / 1024:,.0f} KB",
        sequential,
        speedup,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-real-client", action="store_true", help="skip the real botocore client runs")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="time the sequential loop for 1000 connections once (one event) and reuse it for the batch",
    )
    args = parser.parse_args()

    print(machine_summary())
    print(f"workers {WORKERS} (FANOUT_WORKERS default) | post latency {POST_LATENCY * 1000:.0f} ms | repeats {REPEATS}")
    cases: list[Case] = []
    for batch_size in BATCH_SIZES:
        events = make_events(batch_size)
        for count in CONNECTION_COUNTS:
            with_sequential = not (args.quick and count == max(CONNECTION_COUNTS) and batch_size > 1)
            cases.append(run_case(count, events, with_sequential))
            print(f"  done: {batch_size} event(s) -> {count} connections", file=sys.stderr)

    # The sequential loop posts one message per connection in every case here: its time depends on
    # the connection count only, so a skipped measurement is the one-event one.
    estimated: dict[int, float] = {}
    for case in cases:
        if case.sequential is not None and case.events == 1:
            estimated[case.connections] = case.sequential
    headers = [
        "batch",
        "connections",
        "message size",
        "wall (pool)",
        "floor",
        "messages sent",
        "msgs/connection",
        "peak mem",
        "sequential loop",
        "speed-up",
    ]
    print()
    print(table(headers, [_row(case, estimated) for case in cases]))
    print()
    for case in cases:
        if case.connections == max(CONNECTION_COUNTS):
            sequential = case.sequential if case.sequential is not None else estimated[case.connections]
            speedup = sequential / case.wall
            met = case.wall <= TARGET_SECONDS_1000 and speedup >= TARGET_SPEEDUP
            print(
                f"target 1000 connections, {case.events} event(s): {_ms(case.wall)} <= 1 s and "
                f"{speedup:.1f}x >= {TARGET_SPEEDUP:.0f}x: {'met' if met else 'NOT met'}"
            )
    one_each = all(case.per_connection == {1} for case in cases if case.fits)
    print(
        f"target one message per connection per batch (every batch fits in 128 KB): {'met' if one_each else 'NOT met'}"
    )
    if any(case.oversized for case in cases):
        print("WARNING: messages over 128 KB were posted")
    worker_sweep(make_events(1))
    if not args.no_real_client:
        real_client_section()


def worker_sweep(events: list[LiveEvent]) -> None:
    rows = []
    for workers in SWEEP_WORKERS:
        management = FakeManagement()
        broadcaster = Broadcaster(management, FakeConnectionStore(1000), workers=workers)  # type: ignore[arg-type]
        try:
            _broadcast_once(broadcaster, events)
            wall = statistics.median(_timed(broadcaster, events) for _ in range(REPEATS))
        finally:
            broadcaster._pool.shutdown(wait=True)
        floor = math.ceil(1000 / workers) * POST_LATENCY
        rows.append([str(workers), _ms(wall), _ms(floor), _ms(wall - floor)])
    print()
    print("Fake client, 1000 connections, one event, by thread count:")
    print(table(["workers", "wall", "floor", "over floor"], rows))


def _timed(broadcaster: Broadcaster, events: list[LiveEvent]) -> float:
    started = time.perf_counter()
    _broadcast_once(broadcaster, events)
    return time.perf_counter() - started


def real_client_section() -> None:
    os.environ.update({key: value for key, value in FUNCTION_ENV.items() if key.startswith("AWS_")})
    rows = []
    for latency in (POST_LATENCY, 0.0):
        with connections_endpoint(latency) as endpoint:
            for batch_size in BATCH_SIZES:
                events = make_events(batch_size)
                for workers in SWEEP_WORKERS if batch_size == 1 else (WORKERS,):
                    case = run_real_client(endpoint, 1000, events, workers)
                    rows.append(
                        [
                            f"{latency * 1000:.0f} ms",
                            f"{case.events} event" + ("s" if case.events > 1 else ""),
                            str(case.workers),
                            _ms(case.wall),
                            _ms(math.ceil(1000 / case.workers) * latency),
                            f"{case.messages_sent:,}",
                            f"{case.cpu_per_post * 1e6:,.0f} µs",
                        ]
                    )
                    print(f"  done: real client, {latency * 1000:.0f} ms, {batch_size}, {workers}", file=sys.stderr)
    print()
    print("Real botocore client (dependencies.management_client) -> stub @connections server in another process,")
    print("1000 connections; CPU/post is this process's CPU time (all threads) per message:")
    headers = ["server latency", "batch", "workers", "wall", "floor", "messages sent", "CPU/post"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
