"""The local stack in a subprocess, as `make run` starts it, reached over loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60
STOP_SECONDS = 20


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RunningStack:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        """One HTTP request; 4xx and 5xx answers are returned, not raised."""
        url = f"{self.base_url}{path}"
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310 - http
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback URL
                return Answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers.items()), error.read())

    def post_json(self, path: str, payload: Any) -> Answer:
        return self.request("POST", path, json.dumps(payload).encode(), {"content-type": "application/json"})

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, signal_number: int = signal.SIGTERM) -> int:
        """Signal the stack and wait for it; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the local stack ignored signal {signal_number}:\n{self.output()}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_stack(log_dir: Path) -> RunningStack:
    """`python -m local` on a free port; returns once GET /api/health answers 200."""
    port = free_port()
    log_path = log_dir / f"local-stack-{port}.log"
    with log_path.open("wb") as log:
        # Output goes to a file, not a pipe nobody reads: a full pipe would block the server.
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "local", "--port", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    stack = RunningStack(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the local stack exited with {process.returncode} while starting:\n{stack.output()}")
        try:
            if stack.request("GET", "/api/health").status == 200:
                return stack
        except OSError:
            pass
        time.sleep(0.1)
    stack.stop()
    pytest.fail(f"the local stack did not answer /api/health within {STARTUP_SECONDS} s:\n{stack.output()}")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One local stack for the session; stopped with SIGTERM, which must end it with exit code 0."""
    stack = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    code = stack.stop()
    assert code == 0, stack.output()
    assert "Traceback" not in stack.output(), stack.output()


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[RunningStack]:
    """A local stack of the test's own, for tests that stop it."""
    stack = start_stack(tmp_path)
    yield stack
    if stack.process.poll() is None:
        stack.process.kill()
        stack.process.wait()
