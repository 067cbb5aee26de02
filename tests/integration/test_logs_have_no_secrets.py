"""Logs never hold prompts, tool inputs or outputs, or tokens: not at DEBUG, not on errors.

Each test posts and reads events whose prompt, tool_input, tool_response and Authorization
header hold unique markers, with every logger at DEBUG, and searches everything written to
stdout, stderr and the logging module for them.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError

from claude_events import dependencies
from claude_events.repository import DynamoEventStore
from tests.support.fakes import BackoffClock
from tests.support.handlers import HttpAnswer, get_events, post_events
from tests.support.logs import Written, capture_everything

pytestmark = pytest.mark.usefixtures("events_table")

RUN = uuid.uuid4().hex
PROMPT = f"prompt-marker-{RUN}"
TOOL_INPUT = f"tool-input-marker-{RUN}"
TOOL_RESPONSE = f"tool-response-marker-{RUN}"
TOKEN = f"sekret-{RUN}"
MARKERS = (PROMPT, TOOL_INPUT, TOOL_RESPONSE, TOKEN)
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}", "x-claude-machine": "laptop-7"}


def secret_event(**fields: Any) -> dict[str, Any]:
    """What a Claude Code http hook posts for a tool call, secrets included."""
    return {
        "session_id": "secrets-1",
        "hook_event_name": "PostToolUse",
        "cwd": "/home/me/src/shop",
        "prompt": f"please deploy with {PROMPT}",
        "tool_name": "Bash",
        "tool_input": {"command": f"curl -H 'X-Api-Key: {TOOL_INPUT}' https://example.com"},
        "tool_response": {"stdout": f"token={TOOL_RESPONSE}", "stderr": "", "interrupted": False},
        **fields,
    }


def post(body: Any) -> HttpAnswer:
    return post_events(body, headers=AUTHORIZATION)


@pytest.fixture
def written(capsys, caplog, monkeypatch) -> Written:
    return capture_everything(capsys, caplog, monkeypatch)


def assert_no_secrets(text: str) -> None:
    for marker in MARKERS:
        assert marker not in text, f"{marker} was logged:\n" + _around(text, marker)


def _around(text: str, marker: str) -> str:
    at = text.index(marker)
    return text[max(0, at - 600) : at + 200]


def test_ingest_and_query_log_no_secrets(written):
    # GIVEN an event full of secrets, posted with a bearer token, alone and in a batch
    # WHEN it is stored and read back
    single = post(secret_event())
    batch = post([secret_event(eventId="batch-1"), secret_event(eventId="batch-2")])
    history = get_events("sessionId=secrets-1", headers=AUTHORIZATION)

    # THEN the secrets went through the service
    assert single.status == 201, single.body
    assert batch.status == 201, batch.body
    assert history.status == 200
    assert history.json()["count"] == 3
    assert PROMPT in history.body
    assert TOOL_RESPONSE in history.body
    # AND the logs, DEBUG ones included, were captured but hold none of them
    text = written.text()
    assert "events ingested" in text
    assert any(record.levelno == logging.DEBUG for record in written.records)
    assert_no_secrets(text)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(secret_event(session_id="bad session id"), id="invalid-field"),
        pytest.param(secret_event(timestamp=f"{PROMPT}T"), id="bad-timestamp"),
        pytest.param([secret_event(), secret_event(hook_event_name=5)], id="bad-event-in-batch"),
        pytest.param('{"prompt": "' + PROMPT + '", "tool_input": "' + TOOL_INPUT + '"', id="malformed-json"),
        pytest.param('{"prompt": "' + PROMPT + '", "x": NaN}', id="nan"),
        pytest.param({"events": [secret_event()], "apiKey": TOKEN}, id="extra-field"),
        pytest.param(b'{"prompt": "' + PROMPT.encode() + b'\xff"}', id="invalid-utf8"),
        pytest.param(secret_event(tool_input={"command": TOOL_INPUT + "\ud800"}), id="lone-surrogate"),
        pytest.param(secret_event(prompt=PROMPT * 40_000), id="too-large"),
    ],
)
def test_refused_requests_log_no_secrets(written, body):
    # WHEN a bad request holding secrets is posted
    answer = post(body)

    # THEN it is refused, and its secrets are not logged
    assert 400 <= answer.status < 500, answer.body
    text = written.text()
    assert "request refused" in text
    assert_no_secrets(text)


class FailingDynamoDB:
    """DynamoDB that refuses every write with the given error and message."""

    def __init__(self, real: Any, error_code: str, message: str) -> None:
        self.real = real
        self.error_code = error_code
        self.message = message

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": self.error_code, "Message": self.message}}, "BatchWriteItem")

    def query(self, **request: Any) -> dict[str, Any]:
        return self.real.query(**request)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Fault:
    error_code: str
    message: str
    status: int
    expected_log: str


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            Fault("ProvisionedThroughputExceededException", "Rate exceeded", 503, "events not stored"), id="throttled"
        ),
        pytest.param(
            Fault("ValidationException", "Item size has exceeded the maximum", 500, "unhandled error"), id="failed"
        ),
        pytest.param(
            Fault(
                "ValidationException",
                f"Item {{prompt: {PROMPT}, tool_input: {TOOL_INPUT}}} refused",
                500,
                "unhandled error",
            ),
            id="failed-quoting-the-item",
        ),
    ],
)
def test_storage_faults_log_no_secrets(written, dynamodb, fault):
    # GIVEN storage that refuses the write
    clock = BackoffClock()
    client = FailingDynamoDB(dynamodb, fault.error_code, fault.message)
    table = os.environ["EVENTS_TABLE_NAME"]
    dependencies.use_event_store(DynamoEventStore(cast(Any, client), table, 4, sleep=clock.sleep, clock=clock))

    # WHEN an event holding secrets is posted
    try:
        answer = post(secret_event())
    finally:
        dependencies.use_event_store(None)

    # THEN the client hears of the fault, and no log repeats the item or the token
    assert answer.status == fault.status, answer.body
    assert PROMPT not in answer.body
    text = written.text()
    assert fault.expected_log in text
    assert_no_secrets(text)
