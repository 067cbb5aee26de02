"""Fan-out: each connection gets the batch's matching events, packed, concurrently; failures stay local."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from claude_events.broadcast import Broadcaster, LiveEvent
from claude_events.connections import Connection, EventFilter
from claude_events.messages import MAX_MESSAGE_BYTES
from tests.support.websocket import MANAGEMENT_URL, FakeManagementClient, Timer, gone, server_error, throttled

KB = 1024


class FakeConnections:
    """The connections table in memory: counts scans, records deletes, can refuse to be read."""

    def __init__(self, *connections: Connection) -> None:
        self.connections = {connection.connection_id: connection for connection in connections}
        self.deleted: list[str] = []
        self.scans = 0
        self.unreadable: Exception | None = None
        self._lock = threading.Lock()

    def all(self) -> Iterator[Connection]:
        self.scans += 1
        if self.unreadable is not None:
            raise self.unreadable
        yield from list(self.connections.values())

    def delete(self, connection_id: str) -> None:
        with self._lock:
            self.deleted.append(connection_id)
            self.connections.pop(connection_id, None)

    def prune(self, connection_id: str) -> bool:
        self.delete(connection_id)
        return True


def live(index: int, session_id: str = "s1", name: str = "PreToolUse", data_bytes: int = 0) -> LiveEvent:
    document = {
        "eventId": f"e{index:04d}",
        "event": name,
        "sessionId": session_id,
        "data": {"n": index, "blob": "x" * data_bytes},
    }
    return LiveEvent(session_id, name, json.dumps(document, separators=(",", ":")))


def event_ids(messages: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for message in messages:
        found.extend(item["eventId"] for item in message["events"]) if "events" in message else found.append(
            message["event"]["eventId"]
        )
    return found


def connection(connection_id: str, session_id: str | None = None, *names: str) -> Connection:
    return Connection(connection_id, EventFilter(session_id, frozenset(names)))


@pytest.fixture
def management() -> FakeManagementClient:
    return FakeManagementClient()


def broadcaster(management: FakeManagementClient, connections: FakeConnections, workers: int = 64) -> Broadcaster:
    return Broadcaster(management, connections, workers=workers)  # type: ignore[arg-type]


def test_each_connection_gets_what_its_filter_matches(management):
    # GIVEN connections with every kind of filter
    connections = FakeConnections(
        connection("everything"),
        connection("session-1", "s1"),
        connection("session-2", "s2"),
        connection("stops", None, "Stop"),
        connection("session-1-stops", "s1", "Stop"),
        connection("session-2-tools", "s2", "PreToolUse", "PostToolUse"),
    )
    batch = [live(0, "s1", "PreToolUse"), live(1, "s2", "Stop"), live(2, "s1", "Stop"), live(3, "s2", "PostToolUse")]

    # WHEN the batch is broadcast
    report = broadcaster(management, connections).broadcast(batch)

    # THEN each connection got exactly the events its filter matches, in stream order
    assert {cid: event_ids(management.messages(cid)) for cid in management.recipients()} == {
        "everything": ["e0000", "e0001", "e0002", "e0003"],
        "session-1": ["e0000", "e0002"],
        "session-2": ["e0001", "e0003"],
        "stops": ["e0001", "e0002"],
        "session-1-stops": ["e0002"],
        "session-2-tools": ["e0003"],
    }
    assert report.connections == 6
    assert report.messages_sent == 6
    assert connections.scans == 1


def test_a_connection_nothing_matches_gets_no_message(management):
    connections = FakeConnections(connection("stops", None, "Stop"), connection("other-session", "s9"))

    report = broadcaster(management, connections).broadcast([live(0, "s1", "PreToolUse")])

    assert management.sent == []
    assert report.connections == 0
    assert not report.all_failed


def test_one_message_per_connection_per_batch_when_it_fits(management):
    # GIVEN ten connections and a batch of five small events
    connections = FakeConnections(*(connection(f"c{index}") for index in range(10)))
    batch = [live(index) for index in range(5)]

    # WHEN it is broadcast
    report = broadcaster(management, connections).broadcast(batch)

    # THEN each connection got one claude:events message holding all five
    for index in range(10):
        (message,) = management.messages(f"c{index}")
        assert message["type"] == "claude:events"
        assert [item["eventId"] for item in message["events"]] == [f"e{n:04d}" for n in range(5)]
    assert report.messages_sent == 10


def test_a_single_event_is_a_claude_event_message(management):
    connections = FakeConnections(connection("c1"))

    broadcaster(management, connections).broadcast([live(7)])

    (message,) = management.messages("c1")
    assert message["type"] == "claude:event"
    assert message["event"]["eventId"] == "e0007"


def test_a_batch_over_the_limit_is_split_with_nothing_lost(management):
    # GIVEN a batch of 30 events of 20 KB, and one connection
    connections = FakeConnections(connection("c1"))
    batch = [live(index, data_bytes=20 * KB) for index in range(30)]

    # WHEN it is broadcast
    report = broadcaster(management, connections).broadcast(batch)

    # THEN it arrives in several messages, each within the limit, every event once, in order
    raw = management.raw("c1")
    assert len(raw) > 1
    assert all(len(message) <= MAX_MESSAGE_BYTES for message in raw)
    assert event_ids(management.messages("c1")) == [f"e{index:04d}" for index in range(30)]
    assert report.messages_sent == len(raw)


def test_410_prunes_exactly_the_stale_connection(management):
    # GIVEN three connections, the middle one closed
    connections = FakeConnections(connection("alive-1"), connection("stale"), connection("alive-2"))
    management.always["stale"] = gone()

    # WHEN a batch is broadcast
    report = broadcaster(management, connections).broadcast([live(0)])

    # THEN only the stale connection is deleted, and the others still got the event
    assert connections.deleted == ["stale"]
    assert report.pruned == ["stale"]
    assert management.recipients() == {"alive-1", "alive-2"}
    assert set(connections.connections) == {"alive-1", "alive-2"}
    assert not report.failed
    assert not report.all_failed


def test_429_is_retried_then_sent(management):
    # GIVEN a connection throttled twice
    connections = FakeConnections(connection("busy"), connection("calm"))
    management.script["busy"] = [throttled(), throttled()]

    # WHEN a batch is broadcast
    report = broadcaster(management, connections).broadcast([live(0)])

    # THEN the throttled connection got its message on the third try
    assert management.attempts["busy"] == 3
    assert event_ids(management.messages("busy")) == ["e0000"]
    assert report.throttled == 2
    assert report.messages_sent == 2
    assert not report.failed


def test_500_fails_that_connection_only(management):
    connections = FakeConnections(connection("ok-1"), connection("broken"), connection("ok-2"))
    management.always["broken"] = server_error()

    report = broadcaster(management, connections).broadcast([live(0)])

    assert report.failed == ["broken"]
    assert connections.deleted == []
    assert management.recipients() == {"ok-1", "ok-2"}
    assert not report.all_failed


def test_every_post_failing_is_reported_as_all_failed(management):
    # GIVEN connections that all answer 500 (the @connections endpoint is down)
    connections = FakeConnections(*(connection(f"c{index}") for index in range(5)))
    for index in range(5):
        management.always[f"c{index}"] = server_error()

    # WHEN a batch is broadcast
    report = broadcaster(management, connections).broadcast([live(0), live(1)])

    # THEN the report says nothing got through, so the records can be retried
    assert report.all_failed
    assert report.messages_sent == 0
    assert sorted(report.failed) == [f"c{index}" for index in range(5)]
    assert connections.deleted == []


def test_every_connection_gone_is_not_a_failure(management):
    connections = FakeConnections(connection("c1"), connection("c2"))
    management.always["c1"] = gone()
    management.always["c2"] = gone()

    report = broadcaster(management, connections).broadcast([live(0)])

    assert sorted(report.pruned) == ["c1", "c2"]
    assert not report.all_failed


def test_unreadable_connections_raise_so_the_batch_is_retried(management):
    connections = FakeConnections(connection("c1"))
    connections.unreadable = RuntimeError("table not found")

    with pytest.raises(RuntimeError):
        broadcaster(management, connections).broadcast([live(0)])
    assert management.sent == []


def test_no_events_reads_no_connections(management):
    connections = FakeConnections(connection("c1"))

    report = broadcaster(management, connections).broadcast([])

    assert connections.scans == 0
    assert management.sent == []
    assert not report.all_failed


def test_a_network_error_on_one_connection_does_not_fail_the_batch(management):
    # GIVEN one connection whose post times out
    connections = FakeConnections(connection("ok"), connection("timeout"))
    management.always["timeout"] = ReadTimeoutError(endpoint_url=MANAGEMENT_URL)

    # WHEN a batch is broadcast
    report = broadcaster(management, connections).broadcast([live(0)])

    # THEN that connection failed, the other got its message, and the broadcast itself did not raise
    assert report.failed == ["timeout"]
    assert management.recipients() == {"ok"}
    assert not report.all_failed


def test_slow_and_failing_connections_do_not_hold_up_the_others(management):
    # GIVEN 20 quick connections, 5 whose posts take 0.5 s each, and one answering 500
    slow = [f"slow-{index}" for index in range(5)]
    quick = [f"quick-{index}" for index in range(20)]
    connections = FakeConnections(*(connection(cid) for cid in [*slow, "broken", *quick]))
    for cid in slow:
        management.always[cid] = 0.5
    management.always["broken"] = server_error()
    fanout = broadcaster(management, connections)

    # WHEN one event is broadcast
    with Timer() as timer:
        report = fanout.broadcast([live(0)])

    # THEN everyone but the broken connection got it; the quick ones did not wait for the slow ones;
    # and the whole fan-out took about one slow post (2.5 s if posted one after another)
    assert management.recipients() == {*slow, *quick}
    assert report.failed == ["broken"]
    assert timer.seconds < 1.5
    slow_finished = min(post.finished for post in management.sent if post.connection_id in slow)
    assert all(post.finished < slow_finished for post in management.sent if post.connection_id in quick)


def test_fewer_workers_than_connections_still_reach_everyone(management):
    connections = FakeConnections(*(connection(f"c{index}") for index in range(50)))

    report = broadcaster(management, connections, workers=4).broadcast([live(0), live(1)])

    assert management.recipients() == {f"c{index}" for index in range(50)}
    assert report.messages_sent == 50
