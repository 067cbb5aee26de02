"""Ingest rate and ingest -> WebSocket delivery through the local stack: `python -m bench.local_stack` (issue #5).

Starts `python -m local` in a subprocess on free loopback ports, with CLAUDE_EVENTS_TOKEN set to a
well-formed token generated here, waits for GET /api/health, then in one run:

  single / batch 25 / batch 100
        CLIENTS aiohttp clients post 2 KB PostToolUse hook inputs (a `Bash` call with pytest output,
        as a `type: "http"` hook posts them) back to back for SECONDS (and at most MAX_EVENTS
        events); events/s = events acknowledged with 201 / wall time until the last answer. No
        WebSocket client is connected. After each phase the bench waits until the stream poller has
        handed every stored event to ws_broadcast (read from the stack's log), so a phase does not
        pay for the previous one's backlog; that wait is reported ("stream drained").
  steady 20/s, 10 WS
        WS_CLIENTS WebSocket clients connected (filtered to the phase's session, so the history on
        connect is empty); single events posted at RATE/s for LATENCY_SECONDS, each carrying its
        send time (`bench_sent`, this process's monotonic clock) in `data`. Every client records the
        receive time of every live event: latency = receive - send, pooled over clients and events;
        "after the 201" = receive - the POST's answer (the stream poller and ws_broadcast's part).
  single, 10 WS
        the single-post load of the first phase with the WS_CLIENTS clients connected: ingest and
        fan-out at once, the rate then, and the delivery latency and loss under that load.

Then every acknowledged event is read back (GET /api/claude-events per session, paging with
nextCursor): "lost" counts acknowledged events that are not stored, or that some client never got;
duplicates (a client got the same eventId twice; clients de-duplicate by eventId) are counted
apart. CPU comes from /proc: the stack process, its event-loop (main) thread, its busiest other
thread (normally the single Lambda worker thread that runs every function one at a time, see
local/lambda_runtime.py), its other threads (stream reads through asyncio.to_thread, fan-out
threads), this bench process, and the rest of the machine. "stack CPU ms/event" = stack CPU time /
events acknowledged.

Last, after the stack has stopped, the bench times the same work in its own process, with moto
in-process as the stack runs it: the ingest service alone, and the moto calls the stack makes for
each event (BatchWriteItem, the stream's GetRecords, the connections Scan of every broadcast).

Figures are printed, never asserted. Targets (issue #5): >= 500 events/s with single posts, >= 2000
events/s with batches, delivery p99 <= 250 ms, nothing lost. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench import ROOT, machine_summary, percentile, table

EVENTS = "/api/claude-events"
TOKEN_ENV = "CLAUDE_EVENTS_TOKEN"  # noqa: S105 - a variable name
STARTUP_SECONDS = 60.0
STOP_SECONDS = 20.0
DRAIN_SECONDS = 30.0
TARGET_SINGLE = 500.0
TARGET_BATCH = 2000.0
TARGET_P99_MS = 250.0
# Searched, not matched at the start: a function's print() on stdout writes its text and its newline
# separately, so a log line can follow a JSON log record on the same line of the file.
_BROADCAST_LINE = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) INFO local\.stream: \S+: (\d+) record\(s\) ([\d.]+) ms$"
)
_WS_URL = re.compile(r"^WebSocket API\s+(\S+)$", re.MULTILINE)
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def make_token() -> str:
    """ce_ + 12 of [A-Za-z0-9-] + _ + 43 of [A-Za-z0-9_-], as the authorizer expects."""
    return f"ce_{secrets.token_urlsafe(9).replace('_', '-')}_{secrets.token_urlsafe(32)}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Events ------------------------------------------------------------------------------------------


def _pytest_output() -> str:
    lines = [f"tests/unit/test_module_{index:02d}.py ........                [{index:3d}%]\n" for index in range(40)]
    return "".join(lines)[:1400]


_OUTPUT = _pytest_output()


def hook_input(session: str, seq: int, sent: float) -> dict[str, Any]:
    """A 2 KB PostToolUse hook input (a `Bash` call with pytest output); `bench_*` land in `data`."""
    event: dict[str, Any] = {
        "session_id": session,
        "transcript_path": "/home/dev/.claude/projects/-home-dev-claude-events/4f3c2a1e.jsonl",
        "cwd": "/home/dev/claude-events",
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": ".venv/bin/pytest -q tests/unit", "description": "Run the unit tests"},
        "tool_response": {"stdout": _OUTPUT, "stderr": "", "interrupted": False, "isImage": False},
        "tool_use_id": "toolu_01ABCDEFGHJKMNPQRSTVWXYZ0",
        "bench_seq": seq,
        "bench_sent": round(sent, 6),
    }
    pad = 2048 - len(json.dumps(event, separators=(",", ":")))
    event["tool_input"]["description"] += " " * max(0, pad)
    return event


def body_of(session: str, first_seq: int, batch: int) -> bytes:
    now = time.monotonic()
    if batch == 1:
        return json.dumps(hook_input(session, first_seq, now), separators=(",", ":")).encode()
    events = [hook_input(session, first_seq + index, now) for index in range(batch)]
    return json.dumps({"events": events}, separators=(",", ":")).encode()


def acknowledged_ids(text: bytes) -> list[str]:
    body = json.loads(text)
    if "event" in body:
        return [body["event"]["eventId"]]
    return [event["eventId"] for event in body["events"]]


# CPU from /proc ----------------------------------------------------------------------------------


@dataclass
class CpuSnapshot:
    at: float
    threads: dict[int, int]  # tid -> utime + stime, clock ticks
    bench: float  # this process's CPU seconds
    machine_busy: int
    machine_total: int


def _ticks(stat_text: str) -> int:
    fields = stat_text.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_snapshot(pid: int) -> CpuSnapshot:
    threads: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/stat", encoding="ascii") as stat:
                threads[int(tid)] = _ticks(stat.read())
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return CpuSnapshot(time.monotonic(), threads, time.process_time(), sum(values) - idle, sum(values))


@dataclass
class CpuUse:
    """Per cent of one core over a phase (`machine`: per cent of all cores)."""

    stack: float
    loop: float
    worker: float
    bench: float
    machine: float

    @property
    def other_threads(self) -> float:
        return self.stack - self.loop - self.worker

    @property
    def other_processes(self) -> float:
        """What the rest of the machine used, in per cent of one core."""
        return max(0.0, self.machine * (os.cpu_count() or 1) - self.stack - self.bench)

    def describe(self) -> str:
        return (
            f"stack {self.stack:.0f}% of a core (event loop {self.loop:.0f}%, busiest other thread "
            f"{self.worker:.0f}%, the other threads {self.other_threads:.0f}%), bench {self.bench:.0f}%, "
            f"other processes {self.other_processes:.0f}%; machine {self.machine:.0f}% busy ({os.cpu_count()} cores)"
        )


def cpu_use(pid: int, before: CpuSnapshot, after: CpuSnapshot) -> CpuUse:
    wall = max(after.at - before.at, 1e-9)
    deltas = {tid: ticks - before.threads.get(tid, 0) for tid, ticks in after.threads.items()}
    loop = deltas.pop(pid, 0)
    worker = max(deltas.values(), default=0)
    total = loop + sum(deltas.values())

    def share(ticks: int) -> float:
        return 100.0 * ticks / _CLK_TCK / wall

    machine_total = max(after.machine_total - before.machine_total, 1)
    return CpuUse(
        stack=share(total),
        loop=share(loop),
        worker=share(worker),
        bench=100.0 * (after.bench - before.bench) / wall,
        machine=100.0 * (after.machine_busy - before.machine_busy) / machine_total,
    )


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# The stack ---------------------------------------------------------------------------------------


@dataclass
class Broadcasts:
    """What the stream poller logged: one line per ws_broadcast invocation."""

    invocations: int = 0
    records: int = 0
    ms: list[float] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


class Stack:
    def __init__(self, log_dir: Path) -> None:
        self.token = make_token()
        self.http_port, self.ws_port = free_port(), free_port()
        self.base_url = f"http://127.0.0.1:{self.http_port}"
        self.log_path = log_dir / "local-stack.log"
        self.ws_url = ""
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self.broadcasts = Broadcasts()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> float:
        """Start `python -m local` and return once /api/health answers 200; the seconds that took."""
        started = time.monotonic()
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", TOKEN_ENV: self.token}
        with self.log_path.open("wb") as log:
            # A file, not a pipe nobody reads: a full pipe would block the server.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "local", "--port", str(self.http_port), "--ws-port", str(self.ws_port)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        deadline = started + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the local stack exited with {self.process.returncode}:\n{self.output()}")
            output = self.output()
            if "Ctrl-C stops it." in output and self._healthy():
                match = _WS_URL.search(output)
                if match is None:
                    raise RuntimeError("the local stack serves no WebSocket API")
                self.ws_url = match.group(1)
                return time.monotonic() - started
            time.sleep(0.1)
        raise RuntimeError(f"the local stack was not ready within {STARTUP_SECONDS:.0f} s:\n{self.output()}")

    def _healthy(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"{self.base_url}/api/health", timeout=5) as answer:  # noqa: S310 - loopback
                return bool(answer.status == 200)
        except OSError:
            return False

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def read_broadcasts(self) -> Broadcasts:
        """Fold in the stream poller's log lines written since the last call."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            chunk = log.read()
        end = chunk.rfind(b"\n") + 1
        self._log_offset += end
        for line in chunk[:end].decode(errors="replace").splitlines():
            match = _BROADCAST_LINE.search(line)
            if match:
                stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(match.group(2)) / 1000
                self.broadcasts.invocations += 1
                self.broadcasts.records += int(match.group(3))
                self.broadcasts.sizes.append(int(match.group(3)))
                self.broadcasts.ms.append(float(match.group(4)))
                self.broadcasts.at.append(stamp)
        return self.broadcasts

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


# WebSocket clients -------------------------------------------------------------------------------


@dataclass
class Receiver:
    """One WebSocket client: when it got each live event, and how often."""

    ws: aiohttp.ClientWebSocketResponse
    seen: Counter[str] = field(default_factory=Counter)
    arrivals: dict[str, tuple[float, float]] = field(default_factory=dict)  # eventId -> (first receive, send)
    history_events: int = -1
    messages: int = 0
    errors: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async for message in self.ws:
            received = time.monotonic()
            if message.type != aiohttp.WSMsgType.TEXT:
                self.errors.append(f"{message.type!r}")
                continue
            parsed = json.loads(message.data)
            self.messages += 1
            kind = parsed.get("type")
            if kind == "claude:events:history":
                self.history_events = max(self.history_events, 0) + len(parsed["events"])
                continue
            if kind == "claude:event":
                events = [parsed["event"]]
            elif kind == "claude:events":
                events = parsed["events"]
            else:
                self.errors.append(str(kind))
                continue
            for event in events:
                event_id = event["eventId"]
                self.seen[event_id] += 1
                sent = event.get("data", {}).get("bench_sent")
                if event_id not in self.arrivals and isinstance(sent, (int, float)):
                    self.arrivals[event_id] = (received, sent)


async def connect_clients(http: aiohttp.ClientSession, stack: Stack, count: int, session: str) -> list[Receiver]:
    """`count` clients filtered to `session`, each past its (empty) history message."""
    url = f"{stack.ws_url}?{urlencode({'token': stack.token, 'sessionId': session})}"
    receivers: list[Receiver] = []
    for _ in range(count):
        ws = await http.ws_connect(url, max_msg_size=1024 * 1024)
        receiver = Receiver(ws)
        receiver.task = asyncio.create_task(receiver.run())
        receivers.append(receiver)
    deadline = time.monotonic() + 15
    while any(receiver.history_events < 0 for receiver in receivers) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return receivers


async def close_clients(receivers: list[Receiver]) -> None:
    for receiver in receivers:
        await receiver.ws.close()
        if receiver.task is not None:
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await receiver.task


async def wait_delivered(receivers: list[Receiver], acked: set[str], seconds: float) -> float:
    """Wait until every client has every acknowledged event (or `seconds` pass); the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if all(acked <= receiver.seen.keys() for receiver in receivers):
            break
        await asyncio.sleep(0.02)
    return time.monotonic() - started


# Phases ------------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    session: str
    batch: int
    clients: int = 0
    ws_clients: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    acked: set[str] = field(default_factory=set)
    acked_at: dict[str, float] = field(default_factory=dict)
    ack_ms: list[float] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    posted_events: int = 0
    cpu: CpuUse | None = None
    stream_drained: float | None = None
    broadcast_invocations: int = 0
    broadcast_records: int = 0
    broadcast_ms: list[float] = field(default_factory=list)
    receivers: list[Receiver] = field(default_factory=list)
    connect_seconds: float = 0.0
    delivery_wait: float = 0.0
    stored: set[str] = field(default_factory=set)
    read_back_seconds: float = 0.0
    rate_target: float | None = None

    @property
    def events_per_second(self) -> float:
        return len(self.acked) / self.seconds if self.seconds else 0.0


async def post(http: aiohttp.ClientSession, stack: Stack, phase: Phase, body: bytes) -> None:
    headers = {"Authorization": f"Bearer {stack.token}", "content-type": "application/json"}
    started = time.monotonic()
    try:
        async with http.post(f"{stack.base_url}{EVENTS}", data=body, headers=headers) as answer:
            text = await answer.read()
            status = answer.status
    except (aiohttp.ClientError, TimeoutError) as problem:
        phase.statuses[-1] += 1
        print(f"  {phase.name}: request failed: {problem!r}", file=sys.stderr)
        return
    answered = time.monotonic()
    phase.requests += 1
    phase.statuses[status] += 1
    phase.ack_ms.append((answered - started) * 1000)
    if status == 201:
        for event_id in acknowledged_ids(text):
            phase.acked.add(event_id)
            phase.acked_at[event_id] = answered


async def closed_loop(http: aiohttp.ClientSession, stack: Stack, phase: Phase, seconds: float, max_events: int) -> None:
    """phase.clients clients, each posting its next request as soon as the last one is answered."""
    started = time.monotonic()
    deadline = started + seconds
    counter = iter(range(0, max_events, phase.batch))

    async def client() -> None:
        while time.monotonic() < deadline:
            first = next(counter, None)
            if first is None:
                return
            phase.posted_events += phase.batch
            await post(http, stack, phase, body_of(phase.session, first, phase.batch))

    await asyncio.gather(*(client() for _ in range(phase.clients)))
    phase.seconds = time.monotonic() - started


async def steady(http: aiohttp.ClientSession, stack: Stack, phase: Phase, rate: float, seconds: float) -> None:
    """One single-event POST every 1/rate s, each in its own task (a slow answer delays no other)."""
    started = time.monotonic()
    tasks = []
    for seq in range(round(rate * seconds)):
        delay = started + seq / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        phase.posted_events += 1
        tasks.append(asyncio.create_task(post(http, stack, phase, body_of(phase.session, seq, 1))))
    await asyncio.gather(*tasks)
    phase.seconds = time.monotonic() - started


async def wait_stream_drained(stack: Stack, total_acked: int, seconds: float) -> float | None:
    """Seconds until ws_broadcast has been handed `total_acked` records; None if it was not within `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if stack.read_broadcasts().records >= total_acked:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    return None


async def read_back(http: aiohttp.ClientSession, stack: Stack, phase: Phase) -> None:
    """Every stored event of the phase's session, paging with nextCursor."""
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {stack.token}"}
    cursor: str | None = None
    for _ in range(1000):
        params = {"sessionId": phase.session, "limit": "1000", **({"cursor": cursor} if cursor else {})}
        async with http.get(f"{stack.base_url}{EVENTS}", params=params, headers=headers) as answer:
            if answer.status != 200:
                print(f"  {phase.name}: read-back answered {answer.status}: {await answer.text()}", file=sys.stderr)
                break
            page = await answer.json()
        phase.stored.update(event["eventId"] for event in page["events"])
        cursor = page.get("nextCursor")
        if not cursor:
            break
    phase.read_back_seconds = time.monotonic() - started


async def run_phase(
    http: aiohttp.ClientSession,
    stack: Stack,
    phase: Phase,
    load: Any,
    totals: dict[str, int],
) -> None:
    print(f"- {phase.name} …", file=sys.stderr, flush=True)
    if phase.ws_clients:
        connecting = time.monotonic()
        phase.receivers = await connect_clients(http, stack, phase.ws_clients, phase.session)
        phase.connect_seconds = time.monotonic() - connecting
    before_broadcasts = stack.read_broadcasts()
    invocations, records = before_broadcasts.invocations, before_broadcasts.records
    before = cpu_snapshot(stack.pid)
    await load
    phase.cpu = cpu_use(stack.pid, before, cpu_snapshot(stack.pid))
    totals["acked"] += len(phase.acked)
    if phase.receivers:
        phase.delivery_wait = await wait_delivered(phase.receivers, phase.acked, DRAIN_SECONDS)
    phase.stream_drained = await wait_stream_drained(stack, totals["acked"], DRAIN_SECONDS)
    after_broadcasts = stack.read_broadcasts()
    phase.broadcast_invocations = after_broadcasts.invocations - invocations
    phase.broadcast_records = after_broadcasts.records - records
    phase.broadcast_ms = after_broadcasts.ms[invocations:]
    if phase.receivers:
        await close_clients(phase.receivers)


# Report ------------------------------------------------------------------------------------------


def _cpu(cpu: CpuUse | None) -> str:
    if cpu is None:
        return "-"
    return f"{cpu.stack:.0f} / {cpu.loop:.0f} / {cpu.worker:.0f} / {cpu.other_threads:.0f}"


def _ms(samples: list[float], fraction: float) -> str:
    return f"{percentile(samples, fraction):,.1f}" if samples else "-"


def delivery(phase: Phase) -> dict[str, Any]:
    arrivals = [(event_id, *times) for receiver in phase.receivers for event_id, times in receiver.arrivals.items()]
    latencies = [(received - sent) * 1000 for _, received, sent in arrivals]
    after_ack = [
        (received - phase.acked_at[event_id]) * 1000 for event_id, received, _ in arrivals if event_id in phase.acked_at
    ]
    missing = sum(len(phase.acked - receiver.seen.keys()) for receiver in phase.receivers)
    duplicates = sum(count - 1 for receiver in phase.receivers for count in receiver.seen.values())
    unacked = sum(len(receiver.seen.keys() - phase.acked) for receiver in phase.receivers)
    expected = len(phase.acked) * len(phase.receivers)
    return {
        "latencies": latencies,
        "after_ack": after_ack,
        "missing": missing,
        "duplicates": duplicates,
        "unacked": unacked,
        "expected": expected,
        "errors": sum(len(receiver.errors) for receiver in phase.receivers),
    }


def throughput_rows(phases: list[Phase]) -> list[list[str]]:
    rows = []
    for phase in phases:
        not_201 = sum(count for status, count in phase.statuses.items() if status != 201)
        lost = len(phase.acked - phase.stored)
        drained = "-" if phase.stream_drained is None else f"{phase.stream_drained:.1f}"
        rows.append(
            [
                phase.name,
                str(phase.batch),
                str(phase.clients or "-"),
                str(phase.ws_clients or "-"),
                f"{phase.seconds:.1f}",
                f"{len(phase.acked):,}",
                str(not_201),
                f"**{phase.events_per_second:,.0f}**",
                _ms(phase.ack_ms, 0.5),
                _ms(phase.ack_ms, 0.99),
                f"{len(phase.stored & phase.acked):,}",
                str(lost),
                f"{phase.broadcast_invocations} / {phase.broadcast_records:,}",
                drained if phase.stream_drained is None or phase.stream_drained >= 0.1 else "0",
                _cpu(phase.cpu),
                f"{phase.cpu.stack / 100 * phase.seconds * 1000 / len(phase.acked):.2f}"
                if phase.cpu and phase.acked
                else "-",
                f"{phase.cpu.bench:.0f}" if phase.cpu else "-",
                f"{phase.cpu.other_processes:.0f}" if phase.cpu else "-",
            ]
        )
    return rows


THROUGHPUT_HEADERS = [
    "phase",
    "batch",
    "HTTP clients",
    "WS clients",
    "s",
    "acked (201)",
    "not 201",
    "events/s",
    "ack p50 ms",
    "ack p99 ms",
    "stored",
    "acked not stored",
    "broadcasts / records",
    "stream drained s",
    "stack CPU % (all / loop / busiest / rest)",
    "stack CPU ms/event",
    "bench CPU %",
    "other processes CPU %",
]


def delivery_rows(phases: list[Phase]) -> list[list[str]]:
    rows = []
    for phase in phases:
        if not phase.receivers:
            continue
        found = delivery(phase)
        latencies = found["latencies"]
        sizes = f"{phase.broadcast_records / phase.broadcast_invocations:.1f}" if phase.broadcast_invocations else "-"
        rows.append(
            [
                phase.name,
                f"{phase.events_per_second:,.0f}",
                str(len(phase.receivers)),
                f"{len(latencies):,}",
                _ms(latencies, 0.5),
                _ms(latencies, 0.9),
                f"**{_ms(latencies, 0.99)}**",
                f"{max(latencies):,.1f}" if latencies else "-",
                f"{_ms(found['after_ack'], 0.5)} / {_ms(found['after_ack'], 0.99)}",
                f"{found['expected'] - found['missing']:,} / {found['expected']:,}",
                str(found["missing"]),
                str(found["duplicates"]),
                str(found["unacked"]),
                sizes,
                f"{_ms(phase.broadcast_ms, 0.5)} / {_ms(phase.broadcast_ms, 0.9)}",
                f"{phase.delivery_wait:.2f}",
                f"{phase.connect_seconds:.1f}",
            ]
        )
    return rows


DELIVERY_HEADERS = [
    "phase",
    "events/s posted",
    "WS clients",
    "samples",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "after the 201: p50 / p99 ms",
    "delivered / expected",
    "missing",
    "duplicates",
    "not acked but delivered",
    "events per broadcast",
    "broadcast ms p50 / p90",
    "wait after last ack s",
    "connect + history s",
]


def verdicts(phases: list[Phase]) -> list[list[str]]:
    by_name = {phase.name: phase for phase in phases}
    rows = []
    single = by_name.get("single")
    if single:
        met = single.events_per_second >= TARGET_SINGLE
        rows.append([f">= {TARGET_SINGLE:.0f} events/s, single posts", f"{single.events_per_second:,.0f}", _met(met)])
    batches = [phase for phase in phases if phase.batch > 1]
    if batches:
        best = max(batches, key=lambda phase: phase.events_per_second)
        figures = ", ".join(f"{phase.batch}: {phase.events_per_second:,.0f}" for phase in batches)
        rows.append([f">= {TARGET_BATCH:.0f} events/s, batches", figures, _met(best.events_per_second >= TARGET_BATCH)])
    for phase in phases:
        if phase.receivers:
            latencies = delivery(phase)["latencies"]
            p99 = percentile(latencies, 0.99) if latencies else float("inf")
            rows.append(
                [f"delivery p99 <= {TARGET_P99_MS:.0f} ms ({phase.name})", f"{p99:,.1f} ms", _met(p99 <= TARGET_P99_MS)]
            )
    lost_stored = sum(len(phase.acked - phase.stored) for phase in phases)
    missing = sum(delivery(phase)["missing"] for phase in phases if phase.receivers)
    rows.append(
        [
            "nothing lost (every 201 stored and delivered to every client)",
            f"{lost_stored} not stored, {missing} (client, event) pairs not delivered",
            _met(lost_stored == 0 and missing == 0),
        ]
    )
    return rows


def _met(met: bool) -> str:
    return "**met**" if met else "**missed**"


# Where the stack's CPU goes: the same work in this process, moto in-process as the stack runs it ---


class _Captured:
    """An event store that keeps what it is given: the ingest service's own cost, without DynamoDB."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def put_items(self, items: list[Any], deadline: float) -> Any:
        from claude_events.repository import WriteOutcome

        self.items.extend(items)
        return WriteOutcome(stored=list(range(len(items))))


def _median_ms(work: Any, per: int, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000 / per)
    return sorted(samples)[len(samples) // 2]


class Breakdown:
    """Per-event CPU of the ingest service alone and of the moto calls the stack makes around it.

    Run after the stack has stopped: moto, the template's tables and the shared layer in this
    process, as `python -m local` sets them up; medians of `repeats` runs.
    """

    def __init__(self, repeats: int = 5) -> None:
        from bench import SHARED

        if str(SHARED) not in sys.path:
            sys.path.insert(0, str(SHARED))
        from local.aws import LocalAws

        self.repeats = repeats
        self.aws = LocalAws()
        self.rows: list[list[str]] = []
        self._seq = iter(range(10**9))

    def run(self) -> list[list[str]]:
        from local import resources
        from local.intrinsics import Resolver
        from local.template import load

        self.aws.start()
        try:
            resolver = Resolver.for_template(load(), {})
            resources.register(resolver)
            tables = self.aws.create_tables(resolver)
            items = self._ingest(next(table for table in tables if table.stream_arn).name)
            self._moto_events(next(table for table in tables if table.stream_arn), items)
            self._moto_connections(next(table for table in tables if "Connections" in table.logical_id).name)
        finally:
            self.aws.stop()
        return self.rows

    def _add(self, work: str, ms: float) -> None:
        self.rows.append([work, f"{ms:.2f}"])

    def _ingest(self, table_name: str) -> list[Any]:
        from datetime import UTC

        from claude_events.ingest import IngestService
        from claude_events.received import Received
        from claude_events.settings import IngestSettings

        captured = _Captured()
        service = IngestService(captured, IngestSettings(table_name, 4, 30))  # type: ignore[arg-type]

        def ingest(batch: int) -> None:
            received = Received(datetime.now(UTC), "127.0.0.1", {}, "local")
            service.ingest(body_of("breakdown", next(self._seq) * 100, batch), received)

        for _ in range(20):
            ingest(1)
        self._add("ingest service alone (no Powertools, no DynamoDB), single", _median_ms(lambda: ingest(1), 1, 50))
        self._add("ingest service alone, batch of 100, per event", _median_ms(lambda: ingest(100), 100, self.repeats))
        return captured.items

    def _moto_events(self, table: Any, items: list[Any]) -> None:
        from claude_events.repository import DynamoEventStore

        store = DynamoEventStore(self.aws.dynamodb(), table.name, 4)
        streams = self.aws.dynamodb_streams()
        shard = streams.describe_stream(StreamArn=table.stream_arn)["StreamDescription"]["Shards"][0]
        iterator = streams.get_shard_iterator(
            StreamArn=table.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]
        unused = iter(items)

        def write(count: int) -> None:
            store.put_items([next(unused) for _ in range(count)], time.monotonic() + 5)

        write(1)
        self._add(
            "moto write (BatchWriteItem through botocore), 1 item per request", _median_ms(lambda: write(1), 1, 50)
        )
        self._add(
            "moto write, 100 items per request (4 BatchWriteItem), per event",
            _median_ms(lambda: write(100), 100, self.repeats),
        )
        state = {"iterator": iterator, "records": 0}

        def read() -> None:
            answer = streams.get_records(ShardIterator=state["iterator"], Limit=100)
            state["iterator"], state["records"] = answer["NextShardIterator"], len(answer["Records"])

        ms = _median_ms(read, 100, self.repeats)
        self._add(f"moto stream read (GetRecords through botocore), per record, {state['records']} per call", ms)

    def _moto_connections(self, table_name: str) -> None:
        from claude_events.connections import Connection, ConnectionStore, EventFilter

        connections = ConnectionStore(self.aws.dynamodb(), table_name)
        for index in range(10):
            connections.save(Connection(f"bench{index}=", EventFilter(session_id="breakdown")))
        self._add(
            "moto connections Scan, 10 connections (once per ws_broadcast invocation)",
            _median_ms(lambda: list(connections.all()), 1, 20),
        )


# Main --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_stack(keep_log: bool) -> Iterator[Stack]:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-local-stack-"))
    stack = Stack(log_dir)
    try:
        yield stack
    finally:
        code = stack.stop()
        if code not in (None, 0):
            print(f"the local stack exited with {code}; log: {stack.log_path}", file=sys.stderr)
        elif keep_log:
            print(f"stack log: {stack.log_path}", file=sys.stderr)
        else:
            shutil.rmtree(log_dir, ignore_errors=True)


async def bench(stack: Stack, args: argparse.Namespace) -> list[Phase]:
    run_id = secrets.token_hex(4)
    connector = aiohttp.TCPConnector(limit=args.clients + 64)
    timeout = aiohttp.ClientTimeout(total=60)
    phases: list[Phase] = []
    totals = {"acked": 0}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        warmup = Phase("warm-up", f"bench-{run_id}-warmup", 1, clients=2)
        await closed_loop(http, stack, warmup, 2.0, 40)
        for batch in (25, 100):
            await post(http, stack, warmup, body_of(warmup.session, 1000 + batch, batch))
        totals["acked"] = len(warmup.acked)
        await wait_stream_drained(stack, totals["acked"], DRAIN_SECONDS)

        for name, batch in (("single", 1), ("batch 25", 25), ("batch 100", 100)):
            phase = Phase(name, f"bench-{run_id}-{batch}", batch, clients=args.clients)
            await run_phase(http, stack, phase, closed_loop(http, stack, phase, args.seconds, args.max_events), totals)
            phases.append(phase)

        name = f"steady {args.rate:g}/s, {args.ws_clients} WS"
        phase = Phase(name, f"bench-{run_id}-steady", 1, ws_clients=args.ws_clients, rate_target=args.rate)
        await run_phase(http, stack, phase, steady(http, stack, phase, args.rate, args.latency_seconds), totals)
        phases.append(phase)

        name = f"single, {args.ws_clients} WS"
        phase = Phase(name, f"bench-{run_id}-loaded", 1, clients=args.clients, ws_clients=args.ws_clients)
        await run_phase(http, stack, phase, closed_loop(http, stack, phase, args.seconds, args.max_events), totals)
        phases.append(phase)

        print("- reading every acknowledged event back …", file=sys.stderr, flush=True)
        for phase in phases:
            await read_back(http, stack, phase)
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.local_stack", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="each closed-loop ingest phase (default 10)")
    parser.add_argument("--clients", type=int, default=12, help="concurrent HTTP clients (default 12)")
    parser.add_argument("--max-events", type=int, default=30_000, help="cap per ingest phase (default 30000)")
    parser.add_argument("--rate", type=float, default=20.0, help="steady-phase events/s (default 20)")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="steady phase length (default 10)")
    parser.add_argument("--ws-clients", type=int, default=10, help="WebSocket clients (default 10)")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the in-process cost breakdown")
    parser.add_argument("--keep-log", action="store_true", help="keep the stack's log and print its path")
    args = parser.parse_args()

    print(f"# Local stack benchmark (issue #5), {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {machine_summary()}")
    started = time.monotonic()
    with running_stack(args.keep_log) as stack:
        ready = stack.start()
        print(f"stack ready in {ready:.1f} s (pid {stack.pid}, RSS {rss_mb(stack.pid):.0f} MB)", flush=True)
        phases = asyncio.run(bench(stack, args))
        rss = rss_mb(stack.pid)
        broadcasts = stack.read_broadcasts()
    print()
    print("## Ingest (2 KB PostToolUse events)")
    print()
    print(table(THROUGHPUT_HEADERS, throughput_rows(phases)))
    print()
    print("## Ingest -> WebSocket delivery (latency = client receive - send time carried in `data`)")
    print()
    print(table(DELIVERY_HEADERS, delivery_rows(phases)))
    print()
    print("## Targets")
    print()
    print(table(["target", "measured", "verdict"], verdicts(phases)))
    print()
    for phase in phases:
        if phase.cpu:
            print(f"- {phase.name}: {phase.cpu.describe()}; read back in {phase.read_back_seconds:.1f} s")
        errors = sum(len(receiver.errors) for receiver in phase.receivers)
        if errors:
            print(f"  {phase.name}: {errors} unexpected WebSocket messages")
    if broadcasts.ms:
        print(
            f"- ws_broadcast invocations: {broadcasts.invocations}, {broadcasts.records:,} records, "
            f"median {percentile(broadcasts.ms, 0.5):.1f} ms, p90 {percentile(broadcasts.ms, 0.9):.1f} ms "
            "(the poller's figure: includes waiting for the worker thread)"
        )
    print(f"- stack RSS at the end: {rss:.0f} MB")
    if not args.no_breakdown:
        print()
        print("## Where a local event's CPU goes (same work in this process, moto in-process as in the stack)")
        print()
        print(table(["work", "median ms"], Breakdown().run()))
    print()
    print(f"whole run {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
