"""Wall time of one hook run: `python -m bench.hook` from the repo root (issue #6).

Each run is what Claude Code does for a command hook: `/bin/sh -c COMMAND`, a 2 KB PostToolUse
JSON on stdin, stdout and stderr on pipes, and the clock stops when the process has exited and
both pipes are closed (a background child still holding them would count).

Cases, each against an endpoint that is
  up         a loopback HTTP server in this process answering 201;
  down       a closed loopback port (connection refused);
  blackholed a loopback socket that listens and never answers (the TCP handshake completes,
             the request is sent, no reply ever comes);
for
  hook       the command `claude-events-hook install` writes (this module under this Python,
             with -S and its .pyc cached), the detached sender doing the delivery;
  curl       a one-liner hook: curl -s -m TIMEOUT -X POST ... --data-binary @-;
and, once, the floor: `python -c pass` and `python -S -c pass` with the same interpreter.

Runs are interleaved (every case once per round, ROUNDS rounds). Between two runs the bench waits
until no hook sender is at work, so the figures are the foreground's own cost, not the cost of
sharing two CPUs with the background sender. For the hook with the endpoint up it also reports when
the event reached the endpoint (the background delivery). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import ROOT, machine_summary, median, percentile, table

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hook import claude_events_hook as hook_module

TARGET_MS = 50.0
TOKEN = "ce_benchbench01_" + "b" * 43


def payload_2kb() -> bytes:
    """A PostToolUse hook input for a Bash call with pytest output, 2 KB."""
    output = "".join(
        f"tests/unit/test_module_{index:02d}.py ........                [{index:3d}%]\n" for index in range(40)
    )
    event: dict[str, Any] = {
        "session_id": "4f3c2a1e-9b7d-4c1a-8e2f-0a1b2c3d4e5f",
        "transcript_path": "/home/dev/.claude/projects/-home-dev-claude-events/4f3c2a1e.jsonl",
        "cwd": str(ROOT),
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": ".venv/bin/pytest -q tests/unit", "description": "Run the unit tests"},
        "tool_response": {"stdout": output, "stderr": "", "interrupted": False, "isImage": False},
        "tool_use_id": "toolu_01ABCDEFGHJKMNPQRSTVWXYZ0",
    }
    event["tool_response"]["stdout"] = output[:1400]
    event["tool_input"]["description"] += " " * (2048 - len(json.dumps(event)))
    data = json.dumps(event).encode()
    assert len(data) == 2048, len(data)
    return data


class Endpoint:
    """The three endpoints: up (answers 201), down (a closed port), blackholed (never answers)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.monotonic()
                try:
                    parsed = json.loads(body)
                    events = parsed["events"] if isinstance(parsed, dict) and "events" in parsed else [parsed]
                    for event in events:
                        arrivals.setdefault(str(event.get("data", {}).get("tool_use_id")), now)
                except (ValueError, KeyError, AttributeError):
                    pass
                answer = b'{"count":1}'
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.blackhole = socket.socket()
        self.blackhole.bind(("127.0.0.1", 0))
        self.blackhole.listen(1024)  # never accepted, never answered
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        self.closed_port = closed.getsockname()[1]
        closed.close()

    def url(self, state: str) -> str:
        port = {
            "up": self.server.server_address[1],
            "down": self.closed_port,
            "blackholed": self.blackhole.getsockname()[1],
        }.get(state, self.closed_port)
        return f"http://127.0.0.1:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.blackhole.close()


def sender_idle(state_dir: Path, seconds: float) -> None:
    import fcntl

    lock = state_dir / "claude-events" / "sender.lock"
    deadline = time.monotonic() + seconds
    while lock.exists() and time.monotonic() < deadline:
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                time.sleep(0.02)
                continue
            fcntl.flock(handle, fcntl.LOCK_UN)
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="runs of each case (default 15)")
    parser.add_argument("--timeout", type=float, default=5.0, help="curl -m and CLAUDE_EVENTS_TIMEOUT (default 5)")
    args = parser.parse_args()

    compiled = hook_module.precompile()  # what `install` does; this shell sets PYTHONDONTWRITEBYTECODE
    python = sys.executable
    hook_command = hook_module.hook_command(python)
    curl_command = (
        f"curl -s -m {args.timeout:g} -X POST -H 'Content-Type: application/json' "
        '-H "Authorization: Bearer $CLAUDE_EVENTS_TOKEN" --data-binary @- "$CLAUDE_EVENTS_URL/api/claude-events"'
    )
    cases: list[Case] = [
        (client, state, command)
        for state in ("up", "down", "blackholed")
        for client, command in (("hook", hook_command), ("curl", curl_command))
    ]
    cases += [("python -c pass", "-", f"{shlex.quote(python)} -c pass")]
    cases += [("python -S -c pass", "-", f"{shlex.quote(python)} -S -c pass")]
    print(machine_summary())
    print(f"hook command: {hook_command}")
    print(f"compiled: {compiled}")
    print(f"{args.rounds} rounds x {len(cases)} cases, interleaved; timeout {args.timeout:g} s\n", flush=True)
    started = time.monotonic()
    times, delivery = measure(cases, args.rounds, args.timeout)
    report(cases, times, delivery, args.rounds)
    print(f"{date.today().isoformat()}; total {time.monotonic() - started:.0f} s")


Case = tuple[str, str, str]


def measure(cases: list[Case], rounds: int, timeout: float) -> tuple[dict[tuple[str, str], list[float]], list[float]]:
    """Wall ms of every run, by (command, endpoint); and the hook's delivery times with the endpoint up."""
    endpoint = Endpoint()
    payload = payload_2kb()
    workdir = Path(tempfile.mkdtemp(prefix="bench-hook-"))
    times: dict[tuple[str, str], list[float]] = {(client, state): [] for client, state, _ in cases}
    delivery: list[float] = []
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "USER": "bench",
        "CLAUDE_EVENTS_TOKEN": TOKEN,
        "CLAUDE_EVENTS_TIMEOUT": f"{timeout:g}",
        "PYTHONDONTWRITEBYTECODE": "1",  # as in this shell: the hook must not depend on writing its .pyc
    }
    started = time.monotonic()
    try:
        for round_number in range(rounds):
            for client, state, command in cases:
                state_dir = workdir / f"state-{state}"
                tool_use_id = f"toolu_bench_{round_number}_{client}_{state}"
                data = payload.replace(b"toolu_01ABCDEFGHJKMNPQRSTVWXYZ0", tool_use_id.encode())
                env = base_env | {"XDG_STATE_HOME": str(state_dir), "CLAUDE_EVENTS_URL": endpoint.url(state)}
                begin = time.monotonic()
                subprocess.run(
                    ["/bin/sh", "-c", command], input=data, capture_output=True, env=env, check=False, timeout=60
                )
                times[(client, state)].append((time.monotonic() - begin) * 1000)
                if client == "hook" and state == "up":
                    deadline = time.monotonic() + 5
                    while tool_use_id not in endpoint.arrivals and time.monotonic() < deadline:
                        time.sleep(0.002)
                    if tool_use_id in endpoint.arrivals:
                        delivery.append((endpoint.arrivals[tool_use_id] - begin) * 1000)
                if client == "hook":
                    sender_idle(state_dir, timeout + 2)
            print(f"round {round_number + 1}/{rounds} done ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        endpoint.close()
    return times, delivery


def report(cases: list[Case], times: dict[tuple[str, str], list[float]], delivery: list[float], rounds: int) -> None:
    rows = []
    floor = times[("python -S -c pass", "-")]
    for client, state, _ in cases:
        samples = times[(client, state)]
        # Paired by round: the machine's noise moves both runs of a round alike.
        over = median([sample - base for sample, base in zip(samples, floor, strict=True)])
        rows.append(
            [
                client,
                state,
                f"{median(samples):.1f}",
                f"{percentile(samples, 0.9):.1f}",
                f"{min(samples):.1f}",
                f"{over:+.1f}",
                str(len(samples)),
            ]
        )
    print()
    headers = ["command", "endpoint", "median ms", "p90 ms", "min ms", "vs python -S -c pass, ms", "runs"]
    print(table(headers, rows))
    if delivery:
        print(
            f"\nhook, endpoint up: the event reached the endpoint {median(delivery):.0f} ms (median; "
            f"p90 {percentile(delivery, 0.9):.0f} ms) after the hook started, sent by the detached sender "
            f"({len(delivery)}/{rounds} arrived)."
        )
    hook_medians = [median(times[("hook", state)]) for state in ("up", "down", "blackholed")]
    verdict = "met" if max(hook_medians) <= TARGET_MS else "missed"
    print(f"\ntarget: hook median <= {TARGET_MS:g} ms in every case: {verdict} (worst {max(hook_medians):.1f} ms)")


if __name__ == "__main__":
    main()
