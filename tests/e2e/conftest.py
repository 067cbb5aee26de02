"""The local stack in a subprocess, as `make run` starts it, reached over loopback."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60
STOP_SECONDS = 20
TOKEN_ENV = "CLAUDE_EVENTS_TOKEN"
ADMIN = "/_local/tokens"
_USE_STACK_TOKEN: Any = object()


def make_token() -> str:
    """A well-formed token (ce_<12 id characters>_<43 secret characters>) nobody has stored yet."""
    return f"ce_{secrets.token_urlsafe(9).replace('_', '-')}_{secrets.token_urlsafe(32)}"


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
    token: str
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return self.urls["websocket"]

    @property
    def management_url(self) -> str:
        return self.urls["connections"]

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        token: str | None = _USE_STACK_TOKEN,
    ) -> Answer:
        """One HTTP request, with `Authorization: Bearer <token>` (the stack's unless told otherwise;
        None sends none). 4xx and 5xx answers are returned, not raised."""
        url = f"{self.base_url}{path}"
        sent = dict(headers or {})
        bearer = self.token if token is _USE_STACK_TOKEN else token
        if bearer is not None and not any(name.lower() == "authorization" for name in sent):
            sent["Authorization"] = f"Bearer {bearer}"
        request = urllib.request.Request(url, data=body, method=method, headers=sent)  # noqa: S310 - http
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback URL
                return Answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers.items()), error.read())

    def post_json(self, path: str, payload: Any, *, token: str | None = _USE_STACK_TOKEN) -> Answer:
        body = json.dumps(payload).encode()
        return self.request("POST", path, body, {"content-type": "application/json"}, token=token)

    # The loopback-only token admin endpoint -------------------------------------------------

    def mint(self, name: str, scopes: Sequence[str]) -> str:
        answer = self.post_json(ADMIN, {"name": name, "scopes": list(scopes)}, token=None)
        assert answer.status == 201, answer.body
        return str(answer.json()["token"])

    def revoke(self, name: str) -> list[dict[str, Any]]:
        answer = self.post_json(f"{ADMIN}/revoke", {"name": name}, token=None)
        assert answer.status == 200, answer.body
        return list(answer.json()["revoked"])

    # Output -----------------------------------------------------------------------------------

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def function_logs(self, message: str) -> list[dict[str, Any]]:
        """The functions' structured (Powertools) log records with this message, oldest first."""
        records = []
        for line in self.output().splitlines():
            if line.startswith("{") and f'"message":"{message}"' in line:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
        return records

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


_BANNER_URLS = {
    "websocket": re.compile(r"^WebSocket API\s+(\S+)$", re.MULTILINE),
    "connections": re.compile(r"^@connections\s+(\S+)/@connections/", re.MULTILINE),
    "lambda": re.compile(r"^Lambda Invoke\s+(\S+)", re.MULTILINE),
}


def start_stack(
    log_dir: Path,
    *,
    command: Sequence[str] | None = None,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    token: str | None = None,
    new_session: bool = False,
) -> RunningStack:
    """`python -m local` (or `command`) on free ports with a known token; returns once the banner is
    printed and GET /api/health answers 200."""
    http_port, ws_port = free_port(), free_port()
    token = token or make_token()
    log_path = log_dir / f"local-stack-{http_port}.log"
    environment = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        TOKEN_ENV: token,
        "CLAUDE_EVENTS_HTTP_PORT": str(http_port),
        "CLAUDE_EVENTS_WS_PORT": str(ws_port),
        **(env or {}),
    }
    with log_path.open("wb") as log:
        # Output goes to a file, not a pipe nobody reads: a full pipe would block the server.
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, or make
            [*(command or [sys.executable, "-m", "local"]), *args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=new_session,
        )
    stack = RunningStack(process, f"http://127.0.0.1:{http_port}", log_path, token)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the local stack exited with {process.returncode} while starting:\n{stack.output()}")
        output = stack.output()
        if "Ctrl-C stops it." in output:
            try:
                if stack.request("GET", "/api/health", token=None).status == 200:
                    stack.urls = {
                        name: match.group(1) for name, p in _BANNER_URLS.items() if (match := p.search(output))
                    }
                    return stack
            except OSError:
                pass
        time.sleep(0.1)
    stack.stop()
    pytest.fail(f"the local stack was not ready within {STARTUP_SECONDS} s:\n{stack.output()}")


def assert_stopped_cleanly(stack: RunningStack, code: int) -> None:
    output = stack.output()
    assert code == 0, output
    assert "Traceback" not in output, output
    assert "stopped" in output, output


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One local stack for the session; stopped with SIGTERM, which must end it with exit code 0."""
    stack = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    assert_stopped_cleanly(stack, stack.stop())


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[RunningStack]:
    """A local stack of the test's own, for tests that stop it."""
    stack = start_stack(tmp_path)
    yield stack
    if stack.process.poll() is None:
        stack.process.kill()
        stack.process.wait()
