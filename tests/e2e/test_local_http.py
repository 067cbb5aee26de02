"""The HTTP API of the local stack, over loopback, with real HTTP clients (and the stack's ready token)."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

EVENTS = "/api/claude-events"


def session_id() -> str:
    return f"e2e-{uuid.uuid4()}"


def prototype_event(session: str, event: str = "PreToolUse", **extra):
    return {
        "timestamp": "2026-01-26T10:30:00Z",
        "event": event,
        "sessionId": session,
        "data": {"tool_name": "Read", "tool_input": {"file_path": "/home/me/src/shop/README.md"}},
        **extra,
    }


def test_posted_event_comes_back(local_stack: RunningStack):
    # GIVEN an event of a session nobody else writes to
    session = session_id()
    posted = prototype_event(session)

    # WHEN it is posted, then that session's history is read
    created = local_stack.post_json(EVENTS, posted)
    listed = local_stack.request("GET", f"{EVENTS}?sessionId={session}")

    # THEN it was stored with the server's fields and comes back as stored
    assert created.status == 201, created.body
    assert created.headers["Content-Type"].startswith("application/json")
    assert created.headers["apigw-requestid"]
    stored = created.json()["event"]
    assert stored["sessionId"] == session
    assert stored["data"] == posted["data"]
    assert stored["eventId"]
    assert stored["source"]["ip"] == "127.0.0.1"
    assert listed.status == 200, listed.body
    assert listed.json() == {"events": [stored], "count": 1, "nextCursor": None}


def test_batch_is_stored_and_paged(local_stack: RunningStack):
    # GIVEN a batch of five events of one session, one second apart
    session = session_id()
    batch = [prototype_event(session, timestamp=f"2026-01-26T10:30:0{index}Z") for index in range(5)]

    # WHEN the batch is posted, then the history is read two at a time through the cursor
    created = local_stack.post_json(EVENTS, {"events": batch})
    first = local_stack.request("GET", f"{EVENTS}?sessionId={session}&limit=2").json()
    second = local_stack.request("GET", f"{EVENTS}?sessionId={session}&limit=2&cursor={first['nextCursor']}").json()

    # THEN all five were stored, and the pages run newest first, each oldest first
    assert created.status == 201, created.body
    assert created.json()["count"] == 5
    assert [event["timestamp"][17:19] for event in first["events"]] == ["03", "04"]
    assert [event["timestamp"][17:19] for event in second["events"]] == ["01", "02"]


def test_raw_claude_code_hook_input_is_accepted(local_stack: RunningStack):
    # GIVEN the JSON Claude Code hands an http hook, posted as it is
    session = session_id()
    raw = {"session_id": session, "hook_event_name": "Stop", "cwd": "/home/me/src/shop", "stop_hook_active": False}

    # WHEN it is posted
    created = local_stack.post_json(EVENTS, raw)

    # THEN the event name and session come from the hook fields
    assert created.status == 201, created.body
    assert created.json()["event"]["event"] == "Stop"
    assert created.json()["event"]["sessionId"] == session


def test_bad_json_is_400_naming_the_body(local_stack: RunningStack):
    # GIVEN a body that is not JSON
    body = b'{"event": "Stop", '

    # WHEN it is posted
    answer = local_stack.request("POST", EVENTS, body, {"content-type": "application/json"})

    # THEN the answer is a 400 that names the body
    assert answer.status == 400, answer.body
    assert answer.json()["error"] == "validation_error"
    assert answer.json()["details"][0]["field"] == "body"


def test_non_utf8_body_is_a_400_not_a_5xx(local_stack: RunningStack):
    # GIVEN a body that is not UTF-8 (it reaches the function base64-encoded)
    body = b"\xff\xfe\x00 not text"

    # WHEN it is posted
    answer = local_stack.request("POST", EVENTS, body, {"content-type": "application/octet-stream"})

    # THEN the function refuses it as bad input
    assert answer.status == 400, answer.body


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/nope"), ("DELETE", EVENTS), ("GET", "/nope")])
def test_unknown_route_is_404_as_api_gateway_answers(local_stack: RunningStack, method: str, path: str):
    # GIVEN a method and path that no route of the template takes
    # WHEN it is requested
    answer = local_stack.request(method, path)

    # THEN API Gateway's own 404 comes back
    assert answer.status == 404
    assert answer.json() == {"message": "Not Found"}


def test_concurrent_requests_each_get_their_own_answer(local_stack: RunningStack):
    # GIVEN twenty sessions written and read at the same time
    sessions = [session_id() for _ in range(20)]

    def post_then_get(session: str) -> tuple[str, str, list[str]]:
        created = local_stack.post_json(EVENTS, prototype_event(session))
        listed = local_stack.request("GET", f"{EVENTS}?sessionId={session}")
        return session, created.json()["event"]["sessionId"], [e["sessionId"] for e in listed.json()["events"]]

    # WHEN they all run concurrently
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(post_then_get, sessions))

    # THEN no request got another request's answer
    for session, created_session, listed_sessions in results:
        assert created_session == session
        assert listed_sessions == [session]


def test_openapi_document_is_served(local_stack: RunningStack):
    # GIVEN the running stack
    # WHEN the OpenAPI document is fetched
    answer = local_stack.request("GET", "/api/openapi.json")

    # THEN it is a JSON OpenAPI document that lists the events path
    assert answer.status == 200
    assert EVENTS in json.loads(answer.body)["paths"]
