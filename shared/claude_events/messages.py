"""WebSocket messages: event JSON texts packed into as few frames as fit API Gateway's 128 KB.

Events arrive as their stored JSON text and are spliced into messages without re-serialising; only
an event too large for a message on its own is parsed, cut and marked `truncated`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from claude_events import codec

# API Gateway refuses a WebSocket message over 128 KB.
MAX_MESSAGE_BYTES = 128 * 1024
HISTORY = "claude:events:history"
ONE_EVENT = "claude:event"
SEVERAL_EVENTS = "claude:events"
ERROR = "claude:error"
SUBSCRIBED = "claude:subscribed"
VALID_ACTIONS = ("history", "subscribe")


def history_messages(event_texts: list[str], max_bytes: int = MAX_MESSAGE_BYTES) -> list[bytes]:
    """History, oldest first, in as many messages as needed; an empty history is one empty message."""
    messages = list(_pack(HISTORY, event_texts, max_bytes))
    return messages or [_many(HISTORY, [])]


def live_messages(event_texts: list[str], max_bytes: int = MAX_MESSAGE_BYTES) -> list[bytes]:
    """New events: `claude:event` for one, `claude:events` for several, split only when over the limit."""
    if len(event_texts) == 1:
        text = _fit(event_texts[0], max_bytes - len(_one(ONE_EVENT, "")))
        return [_one(ONE_EVENT, text)]
    return list(_pack(SEVERAL_EVENTS, event_texts, max_bytes))


def error_message(message: str, **extra: Any) -> bytes:
    body = {"type": ERROR, "message": message, "validActions": list(VALID_ACTIONS), **extra}
    return json.dumps(body, separators=(",", ":")).encode()


def subscribed_message(session_id: str | None, event_names: Iterable[str]) -> bytes:
    body = {"type": SUBSCRIBED, "filter": {"sessionId": session_id, "events": list(event_names) or None}}
    return json.dumps(body, separators=(",", ":")).encode()


def _pack(kind: str, event_texts: list[str], max_bytes: int) -> Iterator[bytes]:
    overhead = len(_many(kind, []))
    budget = max_bytes - overhead
    batch: list[bytes] = []
    size = 0
    for text in event_texts:
        encoded = _fit(text, budget).encode()
        separator = 1 if batch else 0
        if batch and size + separator + len(encoded) > budget:
            yield _many_encoded(kind, batch)
            batch, size, separator = [], 0, 0
        batch.append(encoded)
        size += separator + len(encoded)
    if batch:
        yield _many_encoded(kind, batch)


def _fit(text: str, budget: int) -> str:
    if len(text.encode()) <= budget:
        return text
    return codec.fit_text(json.loads(text), budget)


def _one(kind: str, text: str) -> bytes:
    return f'{{"type":"{kind}","event":{text}}}'.encode()


def _many(kind: str, texts: list[str]) -> bytes:
    return _many_encoded(kind, [text.encode() for text in texts])


def _many_encoded(kind: str, encoded: list[bytes]) -> bytes:
    return b'{"type":"' + kind.encode() + b'","events":[' + b",".join(encoded) + b"]}"
