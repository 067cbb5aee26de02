"""Opaque paging cursors: a sort-key position bound to the query that made it.

A cursor is base64url(JSON) + "." + base64url(HMAC-SHA256). The MAC makes a garbled, forged or
edited cursor, or one reused with other filters, a clean 400 instead of a strange page. It is no
access control: a caller who may read may read every position anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

MAX_CURSOR_LENGTH = 1024
_MAC_BYTES = 16
_VERSION = 1


class CursorError(ValueError):
    pass


@dataclass(frozen=True)
class CursorCodec:
    key: bytes

    def encode(self, position: str, query_fingerprint: str) -> str:
        payload = json.dumps({"v": _VERSION, "p": position, "q": query_fingerprint}, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, cursor: str, query_fingerprint: str) -> str:
        """The position the cursor holds; CursorError if it is not one we made for this query."""
        if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii() or cursor.count(".") != 1:
            raise CursorError("is not a cursor this API returned")
        encoded_payload, encoded_mac = cursor.split(".")
        try:
            payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
        except (binascii.Error, ValueError):
            raise CursorError("is not a cursor this API returned") from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise CursorError("is not a cursor this API returned")
        fields = json.loads(payload)
        if fields.get("q") != query_fingerprint:
            raise CursorError("belongs to a query with other filters; repeat that query's filters")
        position = fields.get("p")
        if fields.get("v") != _VERSION or not isinstance(position, str) or not position:
            raise CursorError("is not a cursor this API returned")
        return position

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
