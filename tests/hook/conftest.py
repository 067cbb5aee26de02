"""Fixtures for the hook client: a fake endpoint, and the hook run as Claude Code runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.hook.fake_endpoint import TOKEN, FakeEndpoint

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "hook" / "claude_events_hook.py"
RUN_SECONDS = 20


def hook_input(event: str = "PostToolUse", session: str = "session-1", **fields: Any) -> dict[str, Any]:
    """What Claude Code hands a hook on stdin."""
    base: dict[str, Any] = {
        "session_id": session,
        "transcript_path": f"/home/someone/.claude/projects/demo/{session}.jsonl",
        "cwd": str(ROOT),
        "permission_mode": "default",
        "hook_event_name": event,
    }
    if event.endswith("ToolUse"):
        base |= {"tool_name": "Bash", "tool_input": {"command": "pytest -q"}, "tool_use_id": "toolu_01"}
    return base | fields


@dataclass
class HookEnv:
    """A temporary HOME with XDG dirs, the variables the hook reads, and ways to run it."""

    home: Path
    endpoint: FakeEndpoint
    env: dict[str, str] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        return self.home / "state" / "claude-events"

    @property
    def spool(self) -> list[Path]:
        spool = self.state_dir / "spool"
        return sorted(spool.glob("*.ev")) if spool.exists() else []

    @property
    def log(self) -> str:
        path = self.state_dir / "hook.log"
        return path.read_text() if path.exists() else ""

    def state(self) -> dict[str, Any]:
        path = self.state_dir / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def run(
        self,
        stdin: bytes | dict[str, Any] = b"",
        args: tuple[str, ...] = (),
        extra_env: Mapping[str, str] | None = None,
        command: list[str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """The hook (or a command) as a real process, stdout and stderr captured through pipes."""
        data = json.dumps(stdin).encode() if isinstance(stdin, dict) else stdin
        return subprocess.run(  # noqa: S603 - our interpreter, our file
            command or [sys.executable, str(HOOK), *args],
            input=data,
            capture_output=True,
            env=self.env | dict(extra_env or {}),
            timeout=RUN_SECONDS,
            check=False,
            cwd=self.home,
        )

    def start(self, stdin: dict[str, Any], extra_env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our file
            [sys.executable, str(HOOK)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env | dict(extra_env or {}),
            cwd=self.home,
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps(stdin).encode())
        process.stdin.close()
        process.stdin = None  # communicate() must not flush it again
        return process

    def sender_idle(self, seconds: float = 10.0) -> bool:
        """Wait until no sender holds the lock (a detached sender may still be at work)."""
        import fcntl

        lock = self.state_dir / "sender.lock"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not lock.exists():
                return True
            with lock.open("a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    time.sleep(0.05)
                    continue
                fcntl.flock(handle, fcntl.LOCK_UN)
                return True
        return False


def wait_for(condition: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


@pytest.fixture
def endpoint() -> Iterator[FakeEndpoint]:
    fake = FakeEndpoint()
    fake.up()
    yield fake
    fake.close()


@pytest.fixture
def hook_env(tmp_path: Path, endpoint: FakeEndpoint) -> Iterator[HookEnv]:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "USER": "tester",
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "CLAUDE_EVENTS_URL": endpoint.url,
        "CLAUDE_EVENTS_TOKEN": TOKEN,
        "CLAUDE_EVENTS_TIMEOUT": "1",
        "CLAUDE_EVENTS_RETRY_MIN_SECONDS": "0.2",
        "CLAUDE_EVENTS_RETRY_MAX_SECONDS": "0.5",
        "CLAUDE_EVENTS_HOOK_FOREGROUND": "1",
    }
    hook = HookEnv(home, endpoint, env)
    yield hook
    hook.sender_idle()  # no detached sender outlives its test
