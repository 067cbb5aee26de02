"""Paging cursors: a position bound to its query by a MAC, refused cleanly when not ours."""

from __future__ import annotations

import base64
import json

import pytest

from claude_events.cursor import MAX_CURSOR_LENGTH, CursorCodec, CursorError, fingerprint

CODEC = CursorCodec(b"test-cursor-signing-key")
POSITION = "2026-01-26T10:30:00.000000Z#01JDQ7Z8W3J5K6M7N8P9Q0R1S2"
QUERY = fingerprint("abc-123", ("PreToolUse",), None, None)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_round_trip():
    cursor = CODEC.encode(POSITION, QUERY)

    assert CODEC.decode(cursor, QUERY) == POSITION


def test_cursor_is_url_safe_ascii():
    cursor = CODEC.encode(POSITION, QUERY)

    assert cursor.isascii()
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert len(cursor) < MAX_CURSOR_LENGTH


@pytest.mark.parametrize(
    "garbled",
    [
        "",
        "garbage",
        "a.b.c",
        "..",
        "!!!.???",
        "abc.d",  # not valid base64 lengths
        "é.é",
        "x" * (MAX_CURSOR_LENGTH + 1),
        "eyJ2IjoxfQ.",  # a payload and no MAC
    ],
)
def test_garbled_cursor_is_refused(garbled):
    with pytest.raises(CursorError, match="not a cursor"):
        CODEC.decode(garbled, QUERY)


def test_truncated_cursor_is_refused():
    cursor = CODEC.encode(POSITION, QUERY)

    with pytest.raises(CursorError):
        CODEC.decode(cursor[:-3], QUERY)


def test_cursor_signed_with_another_key_is_refused():
    # GIVEN a cursor someone made with a key that is not ours
    forged = CursorCodec(b"someone-elses-key").encode(POSITION, QUERY)

    with pytest.raises(CursorError, match="not a cursor"):
        CODEC.decode(forged, QUERY)


def test_edited_payload_is_refused():
    # GIVEN a real cursor whose position was edited, keeping the original MAC
    payload, mac = CODEC.encode(POSITION, QUERY).split(".")
    fields = json.loads(unb64(payload))
    fields["p"] = "2099-01-01T00:00:00.000000Z#x"
    edited = f"{b64(json.dumps(fields, separators=(',', ':')).encode())}.{mac}"

    with pytest.raises(CursorError, match="not a cursor"):
        CODEC.decode(edited, QUERY)


def test_edited_mac_is_refused():
    payload, mac = CODEC.encode(POSITION, QUERY).split(".")
    flipped = bytearray(unb64(mac))
    flipped[0] ^= 1

    with pytest.raises(CursorError, match="not a cursor"):
        CODEC.decode(f"{payload}.{b64(bytes(flipped))}", QUERY)


def test_cursor_of_another_query_is_refused():
    # GIVEN a cursor made for one session
    cursor = CODEC.encode(POSITION, QUERY)

    # WHEN it is used with other filters
    other = fingerprint("another-session", ("PreToolUse",), None, None)

    # THEN the caller is told to repeat the first query's filters
    with pytest.raises(CursorError, match="other filters"):
        CODEC.decode(cursor, other)


@pytest.mark.parametrize("position", ["", None, 5])
def test_signed_payload_without_a_position_is_refused(position):
    # GIVEN a cursor signed with our key whose position is unusable
    payload = json.dumps({"v": 1, "p": position, "q": QUERY}, separators=(",", ":")).encode()
    cursor = f"{b64(payload)}.{b64(CODEC._mac(payload))}"

    with pytest.raises(CursorError, match="not a cursor"):
        CODEC.decode(cursor, QUERY)


def test_signed_payload_of_another_version_is_refused():
    payload = json.dumps({"v": 2, "p": POSITION, "q": QUERY}, separators=(",", ":")).encode()
    cursor = f"{b64(payload)}.{b64(CODEC._mac(payload))}"

    with pytest.raises(CursorError, match="not a cursor"):
        CODEC.decode(cursor, QUERY)


def test_fingerprint_tells_filters_apart():
    assert fingerprint("a", (), None, None) == fingerprint("a", (), None, None)
    assert fingerprint("a", (), None, None) != fingerprint("b", (), None, None)
    assert fingerprint(None, ("Stop",), None, None) != fingerprint(None, ("PreToolUse",), None, None)
    assert fingerprint(None, (), "2026-01-01", None) != fingerprint(None, (), None, "2026-01-01")
