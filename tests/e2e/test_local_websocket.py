"""The WebSocket API of the local stack, over loopback, with real aiohttp WebSocket clients.

Live events go ingest -> DynamoDB stream -> ws_broadcast -> @connections -> socket, so each test
that waits for one waits for the template's stream batching window first (DELIVERY_SECONDS).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import cache
from typing import Any

import aiohttp
import boto3
import pytest

from claude_events.connections import EventFilter

try:
    from claude_events.connections import ESTABLISH_GRACE_SECONDS
except ImportError:  # a broadcast that prunes every 410 at once
    ESTABLISH_GRACE_SECONDS = 0
from claude_events.websocket import Replay
from local import resources
from local.intrinsics import Resolver
from local.template import load
from tests.e2e.clients import (
    DELIVERY_SECONDS,
    HISTORY,
    LiveClient,
    connected,
    hook_event,
    http_session,
    post_events,
    run,
    session_id,
)
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

_CONNECTED = re.compile(r"local\.ws: \$connect (\S+) WsConnectFunction 200 ")
# ws_connect's REPLAY_DEADLINE_SECONDS default: how long a replay retries a connection that is not open.
REPLAY_SECONDS = 5.0


@dataclass
class AgedClient:
    client: LiveClient
    connection_id: str


@dataclass
class AgedClients:
    """Two clients of one session, connected when the module started, on a loop of their own."""

    session: str
    staying: AgedClient
    leaving: AgedClient
    connected_at: float
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def wait_until_older_than(self, seconds: float) -> None:
        time.sleep(max(0.0, self.connected_at + seconds - time.monotonic()))


@pytest.fixture(scope="module", autouse=True)
def aged_clients(local_stack: RunningStack) -> Iterator[AgedClients]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="aged clients", daemon=True)
    thread.start()
    stack = AsyncExitStack()
    session = session_id()

    async def open_clients() -> tuple[AgedClient, AgedClient]:
        http = await stack.enter_async_context(http_session())
        opened = []
        for _ in range(2):
            client = await stack.enter_async_context(connected(http, local_stack, sessionId=session))
            await client.history()
            opened.append(AgedClient(client, connection_ids(local_stack)[-1]))
        return opened[0], opened[1]

    staying, leaving = asyncio.run_coroutine_threadsafe(open_clients(), loop).result(30)
    yield AgedClients(session, staying, leaving, time.monotonic(), loop)
    asyncio.run_coroutine_threadsafe(stack.aclose(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@cache
def ws_connect_function_name() -> str:
    """The deployed name of the function behind $connect, as the template makes it."""
    resolver = Resolver.for_template(load())
    resources.register(resolver)
    return resolver.ref("WsConnectFunction")


def connection_ids(stack: RunningStack) -> list[str]:
    """Ids of the connections ws_connect accepted, oldest first (from the stack's request log)."""
    return _CONNECTED.findall(stack.output())


def management_client(stack: RunningStack):
    """A boto3 @connections client whose only local setting is endpoint_url, as the functions' own."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=stack.management_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_history_on_connect_is_oldest_first(local_stack: RunningStack):
    # GIVEN three events of a new session, posted newest first
    session = session_id()
    events = [hook_event(session, timestamp=f"2026-01-26T10:30:0{second}Z") for second in (3, 1, 2)]

    async def scenario():
        async with http_session() as http:
            stored = await post_events(http, local_stack, events)
            # WHEN a client connects with that session as its filter
            async with connected(http, local_stack, sessionId=session) as client:
                return stored, await client.history()

    stored, history = run(scenario())

    # THEN the first message is the session's history, oldest first
    assert [event["timestamp"][17:19] for event in history] == ["01", "02", "03"]
    assert {event["eventId"] for event in history} == {event["eventId"] for event in stored}


def test_posted_event_reaches_every_connected_client(local_stack: RunningStack):
    # GIVEN three clients watching one session, each past its (empty) history
    session = session_id()

    async def scenario():
        async with (
            http_session() as http,
            connected(http, local_stack, sessionId=session) as first,
            connected(http, local_stack, sessionId=session) as second,
            connected(http, local_stack, sessionId=session, events="PreToolUse,Stop") as third,
        ):
            clients = [first, second, third]
            for client in clients:
                assert await client.history() == []
            # WHEN an event of that session is posted
            (stored,) = await post_events(http, local_stack, [hook_event(session)])
            posted = time.monotonic()
            received = await asyncio.gather(*(client.live_events(1, DELIVERY_SECONDS + 2) for client in clients))
            return stored, received, time.monotonic() - posted

    stored, received, seconds = run(scenario())

    # THEN every client has it, within a second of the stream batch going out
    for events in received:
        assert [event["eventId"] for event in events] == [stored["eventId"]]
        assert events[0] == stored
    assert seconds < DELIVERY_SECONDS, f"delivered after {seconds:.2f} s"


def test_clients_with_different_filters_each_get_only_their_events(local_stack: RunningStack):
    # GIVEN one client watching session A, another watching only Stop events of session B
    session_a, session_b = session_id(), session_id()

    async def scenario():
        async with (
            http_session() as http,
            connected(http, local_stack, sessionId=session_a) as watching_a,
            connected(http, local_stack, sessionId=session_b, events="Stop") as stops_of_b,
        ):
            await watching_a.history()
            await stops_of_b.history()
            # WHEN events of both sessions are posted in one batch
            stored = await post_events(
                http,
                local_stack,
                [
                    hook_event(session_a, "PreToolUse"),
                    hook_event(session_b, "PreToolUse"),
                    hook_event(session_b, "Stop"),
                    hook_event(session_a, "Stop"),
                ],
            )
            got_a = await watching_a.live_events(2, DELIVERY_SECONDS + 2)
            got_b = await stops_of_b.live_events(1, DELIVERY_SECONDS + 2)
            extra = await watching_a.quiet(0.3) + await stops_of_b.quiet(0.3)
            return stored, got_a, got_b, extra

    stored, got_a, got_b, extra = run(scenario())

    # THEN each got exactly the events its filter matches, in order, and nothing else
    assert [event["eventId"] for event in got_a] == [stored[0]["eventId"], stored[3]["eventId"]]
    assert [event["eventId"] for event in got_b] == [stored[2]["eventId"]]
    assert extra == []


def test_history_action_resends_history_for_another_session_or_limit(local_stack: RunningStack):
    # GIVEN two sessions with history, and a client watching the first
    session_a, session_b = session_id(), session_id()

    async def scenario():
        async with http_session() as http:
            await post_events(
                http,
                local_stack,
                [hook_event(session_a, timestamp=f"2026-01-26T10:31:0{second}Z") for second in (1, 2)]
                + [hook_event(session_b, "Stop", timestamp="2026-01-26T10:32:00Z")],
            )
            async with connected(http, local_stack, sessionId=session_a) as client:
                on_connect = await client.history()
                # WHEN it asks for the other session's history, then for its own last event
                await client.send({"action": "history", "sessionId": session_b})
                other = await client.history()
                await client.send({"action": "history", "limit": 1})
                last = await client.history()
                return on_connect, other, last

    on_connect, other, last = run(scenario())

    # THEN each answer is that history, oldest first
    assert [event["timestamp"][14:19] for event in on_connect] == ["31:01", "31:02"]
    assert [(event["sessionId"], event["event"]) for event in other] == [(session_b, "Stop")]
    assert [event["timestamp"][14:19] for event in last] == ["31:02"]


def test_subscribe_action_changes_what_the_client_gets(local_stack: RunningStack):
    # GIVEN a client watching session A
    session_a, session_b = session_id(), session_id()

    async def scenario():
        async with http_session() as http, connected(http, local_stack, sessionId=session_a) as client:
            await client.history()
            # WHEN it subscribes to session B, then events of both sessions are posted
            await client.send({"action": "subscribe", "sessionId": session_b})
            confirmation = await client.wait_for(lambda message: message["type"] != HISTORY, 5)
            stored = await post_events(http, local_stack, [hook_event(session_a), hook_event(session_b)])
            received = await client.live_events(1, DELIVERY_SECONDS + 2)
            return confirmation, stored, received, await client.quiet(0.3)

    confirmation, stored, received, extra = run(scenario())

    # THEN the subscription is confirmed and only session B's event arrives
    assert confirmation == {"type": "claude:subscribed", "filter": {"sessionId": session_b, "events": None}}
    assert [event["eventId"] for event in received] == [stored[1]["eventId"]]
    assert extra == []


def test_connect_refused_by_ws_connect_gets_its_status(local_stack: RunningStack):
    # GIVEN a connect URL whose filter ws_connect rejects (an event name with a space)
    async def attempt() -> int:
        async with http_session() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                async with connected(http, local_stack, sessionId=session_id(), events="Pre Tool Use"):
                    pass
            return refused.value.status

    # WHEN a client connects with it
    status = run(attempt())

    # THEN the $connect integration's non-2xx answer refuses the upgrade with that status
    assert status == 400


def test_invalid_client_message_gets_an_error_not_a_disconnect(local_stack: RunningStack):
    # GIVEN a connected client
    async def scenario():
        async with http_session() as http, connected(http, local_stack, sessionId=session_id()) as client:
            await client.history()
            # WHEN it sends something that is not an action, then a valid action
            await client.ws.send_str("not json")
            error = await client.next()
            await client.send({"action": "history"})
            return error, await client.next()

    error, after = run(scenario())

    # THEN it is told what went wrong, and the connection still works
    assert error["type"] == "claude:error"
    assert error["validActions"] == ["history", "subscribe"]
    assert after["type"] == HISTORY


def test_connections_endpoint_posts_describes_and_deletes(local_stack: RunningStack):
    # GIVEN a connected client and a boto3 @connections client aimed at the local stack
    management = management_client(local_stack)

    async def scenario():
        async with http_session() as http, connected(http, local_stack, sessionId=session_id()) as client:
            await client.history()
            connection = connection_ids(local_stack)[-1]
            # WHEN it posts, describes, posts too much, then deletes the connection
            await asyncio.to_thread(management.post_to_connection, ConnectionId=connection, Data=b'{"n":1}')
            posted = await client.next()
            described = await asyncio.to_thread(management.get_connection, ConnectionId=connection)
            with pytest.raises(management.exceptions.PayloadTooLargeException):
                await asyncio.to_thread(
                    management.post_to_connection, ConnectionId=connection, Data=b"x" * (128 * 1024 + 1)
                )
            await asyncio.to_thread(management.delete_connection, ConnectionId=connection)
            closing = await client.ws.receive(timeout=5)
            return connection, posted, described, closing

    connection, posted, described, closing = run(scenario())

    # THEN the post arrived as a text frame, the description is API Gateway's, and DELETE closed it
    assert posted == {"n": 1}
    assert described["Identity"]["SourceIp"] == "127.0.0.1"
    assert described["ConnectedAt"] <= described["LastActiveAt"]
    assert closing.type.name in ("CLOSE", "CLOSED")
    with pytest.raises(management.exceptions.GoneException):
        management.get_connection(ConnectionId=connection)


# Last in the module: its clients age while the tests above run.
def test_client_that_disconnects_mid_stream_is_pruned(local_stack: RunningStack, aged_clients: AgedClients):
    """In AWS, ws_broadcast can post to a client that left before its $disconnect ran: 410, and the
    broadcast deletes the record. Here every function shares one worker, so the race is made
    certain with two "busy" invocations (a history replay for a connection that never opens retries
    410 for REPLAY_DEADLINE_SECONDS): the first holds the ingest back, the second is queued behind
    the ingest, so the stream batch the ingest produces waits behind it, and the client leaves
    while it waits; its $disconnect then queues behind the broadcast. The clients were connected
    when this module started: the broadcast prunes only connections older than
    ESTABLISH_GRACE_SECONDS (a younger one may still be opening)."""
    # GIVEN two clients of one session, connected long enough ago
    session, staying, leaving = aged_clients.session, aged_clients.staying, aged_clients.leaving
    management = management_client(local_stack)
    lambda_client = boto3.client(
        "lambda",
        endpoint_url=local_stack.urls["lambda"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    busy_worker = Replay("never-connected=", EventFilter(session), 1).payload()
    aged_clients.wait_until_older_than(ESTABLISH_GRACE_SECONDS + 0.5)

    def occupy_worker() -> None:
        lambda_client.invoke(
            FunctionName=ws_connect_function_name(), InvocationType="Event", Payload=json.dumps(busy_worker).encode()
        )

    async def scenario():
        async with http_session() as http:
            # (A post now caches the authorizer's answer, so the next post is one invocation: ingest.)
            await post_events(http, local_stack, [hook_event(session, "Notification")])
            await staying.client.live_events(1, DELIVERY_SECONDS + 2)
            # WHEN events are posted behind a busy worker, a second busy invocation queues behind the
            # ingest, and one client leaves while the resulting batch waits
            await asyncio.to_thread(occupy_worker)
            posting = asyncio.create_task(
                post_events(http, local_stack, [hook_event(session), hook_event(session, "Stop")])
            )
            await asyncio.sleep(0.5)
            await asyncio.to_thread(occupy_worker)
            stored = await posting
            await asyncio.sleep(1.0)
            await leaving.client.ws.close()
            received = await staying.client.live_events(len(stored), 2 * REPLAY_SECONDS + DELIVERY_SECONDS + 2)
            # ... and one more event is posted afterwards
            (later,) = await post_events(http, local_stack, [hook_event(session, "Stop")])
            after = await staying.client.live_events(1, DELIVERY_SECONDS + 2)
            return stored, received, later, after

    stored, received, later, after = aged_clients.run(scenario())

    # THEN the client that stayed got everything
    assert [event["eventId"] for event in received] == [event["eventId"] for event in stored]
    assert [event["eventId"] for event in after] == [later["eventId"]]
    # AND the one that left answers 410 on @connections, which botocore raises as GoneException
    with pytest.raises(management.exceptions.GoneException):
        management.post_to_connection(ConnectionId=leaving.connection_id, Data=b"{}")
    # AND the broadcast pruned it on that 410 (its record deleted), so the next batch went to one client
    broadcasts = local_stack.function_logs("broadcast")
    assert any(record.get("pruned") == 1 for record in broadcasts), broadcasts[-3:]
    assert broadcasts[-1]["connections"] == 1, broadcasts[-1]
