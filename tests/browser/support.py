"""Debian's Chromium driven by Playwright, and the dashboard page as the tests and the screenshot use it.

Playwright's own browser downloads are never used (`playwright install` is not run): the Python
package's wheel brings the driver, and the browser is Debian's `chromium` package at CHROMIUM.
`launch` gives the browser a fresh profile (a new temporary user-data-dir) every time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Playwright, expect

from tests.e2e.conftest import ROOT, STARTUP_SECONDS, TOKEN_ENV, RunningStack

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EVENTS = "/api/claude-events"
# Live events arrive about a second after ingest; allow for a busy machine.
LIVE_SECONDS = 15.0
_CONNECTED = re.compile(r"local\.ws: \$connect (\S+) WsConnectFunction 200 ")
_DISCONNECTED = re.compile(r"local\.ws: \$disconnect (\S+) WsConnectFunction ")


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def post_events(stack: RunningStack, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Store events over HTTP (batches of 100); the stored events, with their eventIds."""
    stored: list[dict[str, Any]] = []
    for start in range(0, len(events), 100):
        answer = stack.post_json(EVENTS, {"events": events[start : start + 100]})
        assert answer.status == 201, answer.body
        stored.extend(answer.json()["events"])
    return stored


def start_again(stack: RunningStack, log_dir: Path) -> RunningStack:
    """A new stack on the ports of `stack` (stopped), with the same token: a restarted server.

    Its tables are empty, as after any restart of the local stack.
    """
    http_port = stack.base_url.rsplit(":", 1)[1]
    ws_port = stack.ws_url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
    log_path = log_dir / "restarted.log"
    environment = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        TOKEN_ENV: stack.token,
        "CLAUDE_EVENTS_HTTP_PORT": http_port,
        "CLAUDE_EVENTS_WS_PORT": ws_port,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment
        )
    restarted = RunningStack(process, stack.base_url, log_path, stack.token, urls=dict(stack.urls))
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the restarted stack exited with {process.returncode}:\n{restarted.output()}")
        if "Ctrl-C stops it." in restarted.output():
            with contextlib.suppress(OSError):
                if restarted.request("GET", "/api/health", token=None).status == 200:
                    return restarted
        time.sleep(0.1)
    restarted.stop()
    raise AssertionError(f"the restarted stack was not ready within {STARTUP_SECONDS} s:\n{restarted.output()}")


def open_connections(stack: RunningStack) -> list[str]:
    """WebSocket connections open now, from the stack's log (connected and not yet disconnected)."""
    output = stack.output()
    gone = set(_DISCONNECTED.findall(output))
    return [connection for connection in _CONNECTED.findall(output) if connection not in gone]


def drop_connection(stack: RunningStack, connection_id: str) -> int:
    """Close a connection from the server side: DELETE on the local @connections endpoint."""
    url = f"{stack.management_url}/@connections/{connection_id}"
    request = urllib.request.Request(url, method="DELETE")  # noqa: S310 - loopback URL
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback URL
        return int(response.status)


@dataclass
class Watch:
    """What a page did that a test may need to assert never happened."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    @property
    def csp_violations(self) -> list[str]:
        return [line for line in self.console if "Content Security Policy" in line or "Trusted Type" in line]


class Dashboard:
    """The page, by what a person sees: rows of the stream, sessions, filters, the detail panel."""

    def __init__(self, page: Page, stack: RunningStack) -> None:
        self.page = page
        self.stack = stack

    def open(self, token: str | None = None, *, wait_live: bool = True) -> Dashboard:
        self.page.goto(f"{self.stack.base_url}/")
        self.page.locator("#token").fill(token if token is not None else self.stack.token)
        self.page.get_by_role("button", name="Connect").click()
        if wait_live:
            self.wait_live()
        return self

    def wait_live(self, timeout: float = LIVE_SECONDS) -> None:
        expect(self.page.locator("#status")).to_have_attribute("data-state", "live", timeout=timeout * 1000)

    def row(self, event_id: str):
        return self.page.locator(f'#stream-body tr[data-event-id="{event_id}"]')

    def rows(self):
        return self.page.locator("#stream-body tr[data-event-id]")

    def row_ids(self) -> list[str]:
        return [str(value) for value in self.rows().evaluate_all("rows => rows.map(row => row.dataset.eventId)")]

    def wait_rows(self, event_ids: Iterable[str], timeout: float = LIVE_SECONDS) -> None:
        for event_id in event_ids:
            expect(self.row(event_id)).to_be_visible(timeout=timeout * 1000)

    def session(self, session_id: str):
        return self.page.locator(f'#session-list button[data-session-id="{session_id}"]')

    def seen_ids(self) -> list[str]:
        """Every eventId the page shows (rows), in order; duplicates would show here twice."""
        return self.row_ids()


def wait_until(predicate: Any, timeout: float = LIVE_SECONDS, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {predicate}")
        time.sleep(interval)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
