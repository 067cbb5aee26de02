"""The stored document: exact JSON, compressed when large, cut to fit one DynamoDB item."""

from __future__ import annotations

import json
import random
import string
import zlib
from typing import Any

import pytest

from claude_events import codec


def event_with(data: Any, **extra: Any) -> dict[str, Any]:
    return {
        "eventId": "01JDQ7Z8W3J5K6M7N8P9Q0R1S2",
        "timestamp": "2026-01-26T10:30:00.000Z",
        "event": "PostToolUse",
        "sessionId": "4f3c2a1e-9b7d-4c1a-8e2f-0a1b2c3d4e5f",
        "data": data,
        "source": {"machine": "laptop-7", "ip": "203.0.113.9"},
        "receivedAt": "2026-01-26T10:30:00.120Z",
        **extra,
    }


def random_text(length: int, seed: int = 7, alphabet: str = string.ascii_letters + string.digits) -> str:
    """Text zlib cannot shrink much, so size limits are really reached."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    return "".join(rng.choices(alphabet, k=length))


def stored_size(encoded: codec.EncodedDoc) -> int:
    attribute = encoded.attribute
    return len(attribute["B"]) if "B" in attribute else len(attribute["S"].encode())


TRICKY_DATA = {
    "one": 1,
    "one_float": 1.0,
    "negative_zero": -0.0,
    "tiny": 5e-324,
    "huge": 1.7976931348623157e308,
    "big_int": 123456789012345678901234567890123456789,
    "negative_big_int": -(10**40),
    "empty_string": "",
    "empty_object": {},
    "empty_list": [],
    "null": None,
    "flags": [True, False],
    "unicode": "héllo wörld — 日本語 😀 \u202e\u200b\x00",
    "nested": [[[{"a": [[], {}]}]]],
}


@pytest.mark.parametrize("filler", [0, 5000], ids=["as-text", "compressed"])
def test_any_json_round_trips_exactly(filler):
    # GIVEN data with every JSON corner that a DynamoDB map would bend
    event = event_with({**TRICKY_DATA, "filler": "x" * filler})

    # WHEN it is encoded and decoded
    encoded = codec.encode(event)
    decoded = codec.decode(encoded.attribute)

    # THEN the JSON text is identical: 1 stays 1, 1.0 stays 1.0, -0.0 stays -0.0
    assert json.dumps(decoded) == json.dumps(event)
    assert codec.decode_text(encoded.attribute) == encoded.json_text == codec.dumps(event)
    assert encoded.truncated is False


def test_nesting_up_to_max_depth_round_trips():
    data: dict[str, Any] = {"leaf": 1.5}
    for _ in range(codec.MAX_DEPTH - 1):
        data = {"a": data}
    assert not codec.depth_exceeds(data)

    encoded = codec.encode(event_with(data))

    assert codec.decode(encoded.attribute)["data"] == data


def test_small_documents_are_text_and_large_ones_compressed_bytes():
    # GIVEN two events, one exactly at the threshold and one a byte over
    overhead = len(codec.dumps(event_with({"p": ""})).encode())
    at_threshold = event_with({"p": "x" * (codec.COMPRESS_ABOVE_BYTES - overhead)})
    over_threshold = event_with({"p": "x" * (codec.COMPRESS_ABOVE_BYTES - overhead + 1)})
    assert len(codec.dumps(at_threshold).encode()) == codec.COMPRESS_ABOVE_BYTES

    # WHEN they are encoded
    text, compressed = codec.encode(at_threshold), codec.encode(over_threshold)

    # THEN the first is a string attribute, the second zlib bytes of the same JSON
    assert set(text.attribute) == {"S"}
    assert set(compressed.attribute) == {"B"}
    assert zlib.decompress(compressed.attribute["B"]).decode() == compressed.json_text
    assert codec.decode(compressed.attribute) == over_threshold


def test_size_counts_utf8_bytes_not_characters():
    # GIVEN text of few characters but many bytes (3 bytes each)
    event = event_with({"p": "日" * 400})

    encoded = codec.encode(event)

    assert "B" in encoded.attribute


def test_oversized_string_is_cut_to_fit_a_real_item():
    # GIVEN a 1 MB incompressible prompt beside small fields
    event = event_with({"prompt": random_text(1_000_000), "tool_name": "Bash", "count": 3})

    # WHEN it is encoded with the real limit
    encoded = codec.encode(event)
    decoded = codec.decode(encoded.attribute)

    # THEN it fits, is marked, says how much was cut, and keeps the small fields whole
    assert stored_size(encoded) <= codec.MAX_DOC_BYTES
    assert encoded.truncated is True
    assert decoded["truncated"] is True
    prompt = decoded["data"]["prompt"]
    assert 100_000 < len(prompt) < 1_000_000
    kept = prompt.split("…[truncated ")[0]
    assert event["data"]["prompt"].startswith(kept)
    assert prompt.endswith(f"…[truncated {1_000_000 - len(kept)} chars]")
    assert decoded["data"]["tool_name"] == "Bash"
    assert decoded["data"]["count"] == 3
    assert {key: decoded[key] for key in ("eventId", "sessionId", "event", "timestamp", "source")} == {
        key: event[key] for key in ("eventId", "sessionId", "event", "timestamp", "source")
    }
    assert encoded.json_text == codec.decode_text(encoded.attribute)


@pytest.mark.parametrize(
    "data",
    [
        {"a": random_text(30_000), "b": random_text(30_000, seed=8)},
        {"list": [random_text(2_000, seed=seed) for seed in range(40)]},
        {"nested": {"deeper": {"deepest": random_text(50_000)}}, "small": "keep me"},
        {"multibyte": random_text(60_000, alphabet="日本語のテキスト😀🎉éü")},
    ],
    ids=["two-strings", "many-strings", "nested", "multibyte"],
)
@pytest.mark.parametrize("max_bytes", [2_000, 9_000, 20_000])
def test_truncated_document_always_fits_and_is_marked(data, max_bytes):
    encoded = codec.encode(event_with(data), max_bytes=max_bytes)

    assert stored_size(encoded) <= max_bytes
    assert encoded.truncated is True
    decoded = codec.decode(encoded.attribute)
    assert decoded["truncated"] is True
    assert decoded["eventId"] == "01JDQ7Z8W3J5K6M7N8P9Q0R1S2"


def test_when_even_cut_strings_do_not_fit_the_data_is_replaced():
    # GIVEN ~1 MB of tiny, random keys: cutting strings cannot shrink it
    rng = random.Random(3)  # noqa: S311 - test data, not secrets
    data = {"".join(rng.choices(string.ascii_letters, k=10)): 0 for _ in range(70_000)}
    assert len(json.dumps(data)) > 1_000_000

    # WHEN it is encoded
    encoded = codec.encode(event_with(data))

    # THEN what is stored fits, is marked, and says why the data is gone
    assert stored_size(encoded) <= codec.MAX_DOC_BYTES
    assert encoded.truncated is True
    decoded = codec.decode(encoded.attribute)
    assert decoded["truncated"] is True
    assert set(decoded["data"]) == {"_truncated"}
    assert decoded["sessionId"] == event_with({})["sessionId"]


def test_fallback_keeps_small_top_level_fields():
    # GIVEN small hook fields beside a huge object of tiny keys
    rng = random.Random(4)  # noqa: S311 - test data, not secrets
    big = {"".join(rng.choices(string.ascii_letters, k=10)): 0 for _ in range(3_000)}
    data = {"tool_name": "Bash", "tool_use_id": "toolu_01", "exit_code": 2, "big": big, "long": "y" * 300}

    # WHEN it is encoded under a small limit
    encoded = codec.encode(event_with(data), max_bytes=4_000)

    # THEN the small scalar fields survive and the rest is summarised
    decoded = codec.decode(encoded.attribute)
    assert stored_size(encoded) <= 4_000
    assert decoded["data"] == {
        "tool_name": "Bash",
        "tool_use_id": "toolu_01",
        "exit_code": 2,
        "_truncated": "data was too large to store, even with every string cut",
    }


def test_a_truncated_flag_the_client_sent_is_kept():
    encoded = codec.encode(event_with({"p": "short"}, truncated=True))

    assert encoded.truncated is True
    assert codec.decode(encoded.attribute)["truncated"] is True


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"prompt": "ok \ud800 not ok"}, "data.prompt"),
        ({"tool_input": {"command": "\udfff"}}, "data.tool_input.command"),
        ({"a": [1, "fine", {"b": ["x", "\udc00"]}]}, "data.a[2].b[1]"),
        ({"\ud83d": "value"}, "data.'\\ud83d'"),
    ],
)
def test_unpaired_surrogate_is_refused_with_its_path(data, path):
    with pytest.raises(codec.UnencodableText) as raised:
        codec.encode(event_with(data))

    assert raised.value.path == path


def test_paired_surrogates_are_ordinary_text():
    encoded = codec.encode(event_with({"emoji": "\U0001f600"}))

    assert codec.decode(encoded.attribute)["data"]["emoji"] == "😀"


def test_nan_and_infinity_are_not_json():
    for value in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValueError, match="JSON"):
            codec.dumps({"x": value})


def test_depth_limit_is_exact_and_needs_no_recursion():
    def nested(levels: int) -> dict[str, Any]:
        value: dict[str, Any] = {}
        for _ in range(levels - 1):
            value = {"a": value}
        return value

    assert not codec.depth_exceeds(nested(codec.MAX_DEPTH))
    assert codec.depth_exceeds(nested(codec.MAX_DEPTH + 1))
    assert codec.depth_exceeds([[[[]]]], limit=3)
    assert not codec.depth_exceeds([[[]]], limit=3)
    # 100,000 levels would hit RecursionError in a recursive walk
    assert codec.depth_exceeds(nested(100_000))
