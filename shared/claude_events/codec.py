"""How an event document is stored: exact JSON, compressed when large, cut to fit an item.

The whole canonical event is one attribute: `doc`, a JSON string, or above a size threshold
`docz`, zlib-compressed JSON bytes (two names, so that a reader that has lost the attribute's type,
as Powertools' stream model does, still knows which it holds). DynamoDB maps would turn floats into
Decimals and stop at 32 levels of nesting; a JSON document round-trips any JSON exactly.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# An item is at most 400 KB including attribute names and the key attributes; the other
# attributes take well under 1 KB (their sizes are bounded by validation).
MAX_DOC_BYTES = 399_000
COMPRESS_ABOVE_BYTES = 1024
COMPRESSION_LEVEL = 6
MAX_DEPTH = 128
TRUNCATION_MARKER = "…[truncated {} chars]"
TEXT_ATTRIBUTE = "doc"
COMPRESSED_ATTRIBUTE = "docz"


class UnencodableText(ValueError):
    """A string holds an unpaired surrogate, which is not Unicode text."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass(frozen=True)
class EncodedDoc:
    json_text: str
    attribute: dict[str, Any]
    truncated: bool

    @property
    def name(self) -> str:
        return TEXT_ATTRIBUTE if "S" in self.attribute else COMPRESSED_ATTRIBUTE

    def item_fields(self) -> dict[str, Any]:
        return {self.name: self.attribute}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode(event: dict[str, Any], max_bytes: int = MAX_DOC_BYTES) -> EncodedDoc:
    """Encode the event; when it cannot fit, cut its longest strings and mark it truncated."""
    text = dumps(event)
    try:
        attribute = _attribute(text.encode())
    except UnicodeEncodeError:
        raise UnencodableText(_surrogate_path(event)) from None
    if _size(attribute) <= max_bytes:
        return EncodedDoc(text, attribute, truncated=bool(event.get("truncated")))
    return _truncated(event, max_bytes, _encoded)


def decode(attribute: dict[str, Any]) -> dict[str, Any]:
    if "S" in attribute:
        return json.loads(attribute["S"])  # type: ignore[no-any-return]
    return json.loads(zlib.decompress(attribute["B"]))  # type: ignore[no-any-return]


def decode_text(attribute: dict[str, Any]) -> str:
    if "S" in attribute:
        return attribute["S"]  # type: ignore[no-any-return]
    return zlib.decompress(attribute["B"]).decode()


def text_of_item(item: dict[str, Any]) -> str:
    """The event JSON of a stored item (low-level attribute values)."""
    if TEXT_ATTRIBUTE in item:
        return decode_text(item[TEXT_ATTRIBUTE])
    return decode_text(item[COMPRESSED_ATTRIBUTE])


def text_from_image(image: dict[str, Any]) -> str:
    """The event JSON of a deserialised stream image; binary arrives base64-encoded from Lambda."""
    if TEXT_ATTRIBUTE in image:
        return str(image[TEXT_ATTRIBUTE])
    compressed = image[COMPRESSED_ATTRIBUTE]
    raw = base64.b64decode(compressed, validate=True) if isinstance(compressed, str) else bytes(compressed)
    return zlib.decompress(raw).decode()


def fit_text(event: dict[str, Any], max_bytes: int) -> str:
    """The event's JSON, its longest strings cut (and marked truncated) until it takes max_bytes."""
    return _truncated(event, max_bytes, _plain).json_text


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values() if isinstance(child, (dict, list)))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if isinstance(child, (dict, list)))
    return False


def _attribute(raw: bytes) -> dict[str, Any]:
    if len(raw) > COMPRESS_ABOVE_BYTES:
        return {"B": zlib.compress(raw, COMPRESSION_LEVEL)}
    return {"S": raw.decode()}


def _size(attribute: dict[str, Any]) -> int:
    if "B" in attribute:
        return len(attribute["B"])
    return len(attribute["S"].encode())


def _truncated(event: dict[str, Any], max_bytes: int, encoder: Callable[[dict[str, Any]], EncodedDoc]) -> EncodedDoc:
    data = event["data"]
    low, high = 0, _longest_string(data)
    best: EncodedDoc | None = None
    while low <= high:
        cap = (low + high) // 2
        candidate = encoder({**event, "data": _cap_strings(data, cap), "truncated": True})
        if _size(candidate.attribute) <= max_bytes:
            best, low = candidate, cap + 1
        else:
            high = cap - 1
    if best is not None:
        return best
    summary = {
        key: value
        for key, value in data.items()
        if isinstance(value, (str, int, float, bool)) and len(str(value)) <= 256 and len(key) <= 64
    }
    summary["_truncated"] = "data was too large to store, even with every string cut"
    fallback = encoder({**event, "data": summary, "truncated": True})
    if _size(fallback.attribute) <= max_bytes:
        return fallback
    return encoder({**event, "data": {"_truncated": summary["_truncated"]}, "truncated": True})


def _encoded(event: dict[str, Any]) -> EncodedDoc:
    text = dumps(event)
    return EncodedDoc(text, _attribute(text.encode()), truncated=True)


def _plain(event: dict[str, Any]) -> EncodedDoc:
    text = dumps(event)
    return EncodedDoc(text, {"S": text}, truncated=True)


def _longest_string(value: Any) -> int:
    longest = 0
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            longest = max(longest, len(node))
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return longest


def _cap_strings(value: Any, cap: int) -> Any:
    if isinstance(value, str):
        if len(value) <= cap:
            return value
        return value[:cap] + TRUNCATION_MARKER.format(len(value) - cap)
    if isinstance(value, dict):
        return {key: _cap_strings(child, cap) for key, child in value.items()}
    if isinstance(value, list):
        return [_cap_strings(child, cap) for child in value]
    return value


def _surrogate_path(value: Any, path: str = "") -> str:
    if isinstance(value, str):
        return path if _has_surrogate(value) else ""
    if isinstance(value, dict):
        for key, child in value.items():
            if _has_surrogate(key):
                return f"{path}.{key!a}".lstrip(".")
            found = _surrogate_path(child, f"{path}.{key}".lstrip("."))
            if found:
                return found
    if isinstance(value, list):
        for index, child in enumerate(value):
            found = _surrogate_path(child, f"{path}[{index}]")
            if found:
                return found
    return ""


def _has_surrogate(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False
