"""The local stack as a program: the README command, its banner, its options, and how it stops."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from tests.e2e.clients import EVENTS, connected, hook_event, http_session, run, session_id
from tests.e2e.conftest import (
    ROOT,
    TOKEN_ENV,
    RunningStack,
    assert_stopped_cleanly,
    start_stack,
)

pytestmark = pytest.mark.e2e


def test_banner_prints_the_urls_and_a_ready_token(local_stack: RunningStack):
    # GIVEN the stack started with CLAUDE_EVENTS_TOKEN set
    output = local_stack.output()

    # THEN it printed both APIs, the @connections endpoint, the token, and a curl example using it
    assert f"HTTP API       {local_stack.base_url}" in output
    assert local_stack.ws_url.startswith("ws://127.0.0.1:")
    assert local_stack.management_url.startswith("http://127.0.0.1:")
    assert "from CLAUDE_EVENTS_TOKEN" in output
    assert f"curl -sS -X POST {local_stack.base_url}{EVENTS} -H 'Authorization: Bearer {local_stack.token}'" in output
    assert f"{local_stack.ws_url}?token={local_stack.token}" in output


def _make_is_ready() -> str | None:
    """Why `make run` cannot be tested here (None: it can)."""
    if shutil.which("make") is None:
        return "make is not installed"
    fresh = subprocess.run(["make", "-q", "setup"], cwd=ROOT, capture_output=True, check=False)  # noqa: S607
    if fresh.returncode != 0:
        return "the virtual environment is out of date (`make setup` would install packages)"
    return None


def test_readme_command_starts_the_stack_and_ctrl_c_stops_it(tmp_path: Path):
    # GIVEN the README's first command, run as a terminal would (its own process group)
    reason = _make_is_ready()
    if reason:
        pytest.skip(reason)
    stack = start_stack(tmp_path, command=["make", "--no-print-directory", "run"], new_session=True)
    try:
        # WHEN it serves a token-authorized request, then gets Ctrl-C (SIGINT to the whole group)
        served = stack.post_json(EVENTS, hook_event(session_id()))
        os.killpg(stack.process.pid, signal.SIGINT)
        stack.process.wait(timeout=20)
    finally:
        if stack.process.poll() is None:
            os.killpg(stack.process.pid, signal.SIGKILL)
            stack.process.wait()

    # THEN it ran `.venv/bin/python -m local`, served, and stopped cleanly, leaving nothing listening
    output = stack.output()
    assert ".venv/bin/python -m local" in output
    assert served.status == 201, served.body
    assert "Traceback" not in output, output
    assert "INFO local: stopped" in output, output
    with pytest.raises(urllib.error.URLError):
        stack.request("GET", "/api/health")


def test_malformed_ready_token_is_refused_with_a_clear_message(tmp_path: Path):
    # GIVEN CLAUDE_EVENTS_TOKEN set to something that is not a token
    bad = f"secret-{uuid.uuid4().hex}"
    env = {**os.environ, TOKEN_ENV: bad, "CLAUDE_EVENTS_HTTP_PORT": "0", "CLAUDE_EVENTS_WS_PORT": "0"}

    # WHEN the stack starts
    finished = subprocess.run(
        [sys.executable, "-m", "local"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    # THEN it stops at once, says what a token looks like, and does not echo the value
    assert finished.returncode == 1, finished.stdout + finished.stderr
    assert "CLAUDE_EVENTS_TOKEN is set but is not a Claude Events token" in finished.stderr
    assert bad not in finished.stdout + finished.stderr
    assert "Traceback" not in finished.stderr


def test_port_in_use_is_refused_with_the_option_to_change(tmp_path: Path):
    # GIVEN the WebSocket port taken by someone else
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {**os.environ, "CLAUDE_EVENTS_HTTP_PORT": "0", "CLAUDE_EVENTS_WS_PORT": str(taken.getsockname()[1])}

        # WHEN the stack starts
        finished = subprocess.run(
            [sys.executable, "-m", "local"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    # THEN it says which port, for what, and which option moves it
    assert finished.returncode == 1
    assert "for the WebSocket API: the port is in use (pass --ws-port)" in finished.stderr


# A stack on every interface, with a one-second authorizer cache -------------------------------


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (None: it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent, the route is looked up
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def wide_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(
        tmp_path_factory.mktemp("wide-stack"),
        args=["--host", "0.0.0.0", "--parameter", "AuthorizerCacheSeconds=1"],  # noqa: S104 - the point
    )
    yield stack
    if stack.process.poll() is None:
        stack.process.kill()
        stack.process.wait()


def test_admin_and_connections_endpoints_refuse_other_hosts(wide_stack: RunningStack):
    # GIVEN a stack listening on every interface, reached from this machine's non-loopback address
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    http_port = wide_stack.base_url.rsplit(":", 1)[1]
    ws_base = wide_stack.management_url.replace("127.0.0.1", address)
    admin = wide_stack.base_url.replace("127.0.0.1", address)

    async def ask() -> tuple[int, int, int]:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{admin}/_local/tokens") as tokens:
                pass
            async with http.get(f"http://{address}:{http_port}/api/health") as health:
                pass
            async with http.post(f"{ws_base}/@connections/whatever=", data=b"{}") as posted:
                return tokens.status, health.status, posted.status

    # WHEN the token admin, health and @connections are called from there
    tokens_status, health_status, posted_status = run(ask())

    # THEN the APIs answer but the admin endpoint and @connections refuse (403)
    assert health_status == 200
    assert tokens_status == 403
    assert posted_status == 403


def test_revoked_token_stops_working_once_the_cached_allow_expires(wide_stack: RunningStack):
    # GIVEN a token allowed on POST (cached for ReauthorizeEvery = 1 s here), then revoked
    name = f"e2e-ttl-{uuid.uuid4().hex[:8]}"
    token = wide_stack.mint(name, ["ingest"])
    assert wide_stack.post_json(EVENTS, hook_event(session_id()), token=token).status == 201
    wide_stack.revoke(name)

    # WHEN it is used again after the cache TTL
    time.sleep(1.2)
    answer = wide_stack.post_json(EVENTS, hook_event(session_id()), token=token)

    # THEN the authorizer runs again and refuses it
    assert answer.status == 401, answer.body


def test_sigterm_closes_websockets_and_stops_cleanly(wide_stack: RunningStack):
    # GIVEN a connected WebSocket client
    async def scenario() -> int | None:
        async with http_session() as http, connected(http, wide_stack, sessionId=session_id()) as client:
            await client.history()
            # WHEN the stack gets SIGTERM
            wide_stack.process.send_signal(signal.SIGTERM)
            closing = await client.ws.receive(timeout=10)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            return client.ws.close_code

    close_code = run(scenario())
    code = wide_stack.stop()

    # THEN the client is told the server is going away, and the stack exits 0 with no traceback
    assert close_code == 1001
    assert_stopped_cleanly(wide_stack, code)
    with pytest.raises(urllib.error.URLError):
        wide_stack.request("GET", "/api/health")
    with pytest.raises(EndpointConnectionError):
        boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=wide_stack.management_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        ).get_connection(ConnectionId="gone=")
