"""API tokens: random, shown once, stored only as a digest, parsed strictly, checked in constant time.

The store runs here against a small in-memory stand-in for the DynamoDB client; the same store
against moto (and the template's table) is tested in tests/integration/test_tokens_store.py.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest

from claude_events import tokens
from claude_events.tokens import (
    NAME_PATTERN,
    SCOPES,
    TOKEN_PATTERN,
    Principal,
    TokenError,
    TokenStore,
    bearer_token,
    check_scopes,
    digest,
    parse,
)

TABLE = "tokens-unit"
WELL_FORMED = "ce_" + "A" * 12 + "_" + "b" * 43


class FakeTokensTable:
    """The calls TokenStore makes, on a dict, recording every item written."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.puts: list[dict[str, Any]] = []
        self.gets: list[str] = []

    def put_item(self, *, TableName: str, Item: dict[str, Any], ConditionExpression: str = "") -> dict[str, Any]:
        assert TableName == TABLE
        key = Item["tokenId"]["S"]
        if "attribute_not_exists(tokenId)" in ConditionExpression:
            assert key not in self.items
        self.puts.append(copy.deepcopy(Item))
        self.items[key] = copy.deepcopy(Item)
        return {}

    def get_item(self, *, TableName: str, Key: dict[str, Any], ConsistentRead: bool = False) -> dict[str, Any]:
        assert TableName == TABLE
        self.gets.append(Key["tokenId"]["S"])
        item = self.items.get(Key["tokenId"]["S"])
        return {"Item": copy.deepcopy(item)} if item is not None else {}

    def scan(self, **request: Any) -> dict[str, Any]:
        assert request["TableName"] == TABLE
        names = request.get("ExpressionAttributeNames", {})
        wanted = [names.get(part.strip(), part.strip()) for part in request["ProjectionExpression"].split(",")]
        return {
            "Items": [{name: value for name, value in item.items() if name in wanted} for item in self.items.values()]
        }

    def update_item(self, **request: Any) -> dict[str, Any]:
        assert request["UpdateExpression"] == "SET revoked = :true"
        key = request["Key"]["tokenId"]["S"]
        self.items.setdefault(key, {"tokenId": {"S": key}})["revoked"] = request["ExpressionAttributeValues"][":true"]
        return {}


@pytest.fixture
def table() -> FakeTokensTable:
    return FakeTokensTable()


@pytest.fixture
def store(table: FakeTokensTable) -> TokenStore:
    return TokenStore(table, TABLE, wall_clock=lambda: 1_767_225_600.0)  # type: ignore[arg-type]


def split(token: str) -> tuple[str, str]:
    parts = parse(token)
    assert parts is not None, token
    return parts


# --- format and randomness --------------------------------------------------------------------


def test_minted_token_has_the_documented_format(store):
    token, record = store.mint("alice", ["ingest"])

    match = TOKEN_PATTERN.fullmatch(token)
    assert match is not None
    assert token.startswith("ce_")
    assert match.group(1) == record.token_id
    assert len(match.group(2)) == 43  # 32 random bytes, base64url without padding
    assert token.isascii()


def test_two_mints_differ_in_id_and_secret(store):
    first, _ = store.mint("alice", ["ingest"])
    second, _ = store.mint("bob", ["ingest"])

    first_id, first_secret = split(first)
    second_id, second_secret = split(second)
    assert first != second
    assert first_id != second_id
    assert first_secret != second_secret


def test_many_mints_are_all_distinct(store):
    minted = [store.mint(f"user-{n}", ["read"])[0] for n in range(100)]

    assert len(set(minted)) == len(minted)
    assert len({split(token)[0] for token in minted}) == len(minted)
    assert len({split(token)[1] for token in minted}) == len(minted)


def test_secret_comes_from_the_csprng_with_256_bits(store, monkeypatch):
    requested: list[int] = []
    real = secrets.token_urlsafe

    def recording(nbytes: int) -> str:
        requested.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr("claude_events.tokens.secrets.token_urlsafe", recording)
    token, _ = store.mint("alice", ["read"])

    assert 32 in requested  # the secret: 256 bits from the secrets module
    assert len(split(token)[1]) == 43


def test_token_id_never_holds_the_separator(store):
    # The id is base64url with "_" swapped for "-": "_" only ever separates prefix, id and secret.
    for n in range(100):
        token, record = store.mint(f"user-{n}", ["read"])
        assert "_" not in record.token_id
        assert token.split("_", 2)[1] == record.token_id


def test_secret_is_never_stored_only_its_digest(store, table):
    token, record = store.mint("alice", ["ingest", "read"])
    _, secret = split(token)

    (item,) = table.puts
    assert set(item) == {"tokenId", "secretHash", "name", "scopes", "revoked", "createdAt"}
    assert item["secretHash"] == {"B": hashlib.sha256(secret.encode()).digest()}
    assert len(item["secretHash"]["B"]) == 32
    assert item["tokenId"] == {"S": record.token_id}
    assert item["scopes"] == {"SS": ["ingest", "read"]}
    assert item["revoked"] == {"BOOL": False}
    stored = repr(item)
    assert secret not in stored
    assert token not in stored
    assert secret.encode() not in item["secretHash"]["B"]


def test_record_and_its_public_form_hold_no_secret(store):
    token, record = store.mint("alice", ["ingest"])
    _, secret = split(token)

    public = record.public()
    assert set(public) == {"id", "name", "scopes", "revoked", "createdAt"}
    assert public == {
        "id": record.token_id,
        "name": "alice",
        "scopes": ["ingest"],
        "revoked": False,
        "createdAt": "2026-01-01T00:00:00.000Z",
    }
    for text in (json.dumps(public), repr(record), str(record)):
        assert secret not in text
        assert token not in text


def test_listing_holds_no_secret_or_digest(store):
    token, _ = store.mint("alice", ["ingest"])
    _, secret = split(token)

    (listed,) = store.all()
    assert secret not in repr(listed)
    assert digest(secret).hex() not in repr(listed)
    assert not hasattr(listed, "secretHash")


# --- names and scopes -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "ci.build-7", "me@example.com", "A", "x" * 64, "laptop_7"])
def test_good_names_are_accepted(store, name):
    _, record = store.mint(name, ["read"])

    assert record.name == name


@pytest.mark.parametrize(
    "name",
    ["", " alice", "alice bob", "alice\n", "x" * 65, "-alice", ".alice", "é", "a/b", "a\tb", "a;b", "a\x00"],
)
def test_bad_names_are_refused(store, table, name):
    with pytest.raises(TokenError, match="name"):
        store.mint(name, ["read"])
    assert not table.puts
    assert not NAME_PATTERN.fullmatch(name)


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (["ingest"], {"ingest"}),
        (["read"], {"read"}),
        (["ingest", "read"], {"ingest", "read"}),
        (["read", "ingest", "read"], {"ingest", "read"}),
        (("read",), {"read"}),
    ],
)
def test_check_scopes_accepts_known_scopes(scopes, expected):
    assert check_scopes(scopes) == frozenset(expected)


@pytest.mark.parametrize("scopes", [[], ["admin"], ["read", "admin"], ["READ"], ["read "], "read", [""]])
def test_check_scopes_refuses_empty_or_unknown(scopes):
    with pytest.raises(TokenError, match="scopes"):
        check_scopes(scopes)


def test_scopes_are_ingest_and_read():
    assert SCOPES == ("ingest", "read")


def test_mint_with_bad_scopes_writes_nothing(store, table):
    with pytest.raises(TokenError):
        store.mint("alice", ["write"])
    assert not table.puts


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Bearer {WELL_FORMED}", WELL_FORMED),
        (f"bearer {WELL_FORMED}", WELL_FORMED),
        (f"BEARER {WELL_FORMED}", WELL_FORMED),
        (f"BeArEr {WELL_FORMED}", WELL_FORMED),
        (f"Bearer    {WELL_FORMED}", WELL_FORMED),
        (f"  Bearer {WELL_FORMED}  ", WELL_FORMED),
        ("Bearer anything", "anything"),
    ],
)
def test_bearer_token_reads_the_token(header, expected):
    assert bearer_token(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        WELL_FORMED,
        f"Basic {WELL_FORMED}",
        f"Token {WELL_FORMED}",
        f"Bearer{WELL_FORMED}",
        f"Bearers {WELL_FORMED}",
        f"X-Bearer {WELL_FORMED}",
    ],
)
def test_bearer_token_refuses_other_headers(header):
    assert bearer_token(header) is None


def test_parse_splits_a_well_formed_token():
    assert parse(WELL_FORMED) == ("A" * 12, "b" * 43)
    assert parse("ce_abc-DEF-0123_" + "-_" * 21 + "z") == ("abc-DEF-0123", "-_" * 21 + "z")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "ce_",
        "ce__",
        WELL_FORMED[3:],  # no prefix
        "CE_" + WELL_FORMED[3:],
        "cx_" + WELL_FORMED[3:],
        "ce-" + WELL_FORMED[3:],
        "ce_" + "A" * 11 + "_" + "b" * 43,  # id too short
        "ce_" + "A" * 13 + "_" + "b" * 43,  # id too long
        "ce_" + "A" * 12 + "_" + "b" * 42,  # secret too short
        "ce_" + "A" * 12 + "_" + "b" * 44,  # secret too long
        "ce_" + "A" * 11 + "_" + "_" + "b" * 43,  # "_" inside the id
        "ce_" + "A" * 12 + "-" + "b" * 43,  # wrong separator
        "ce_" + "A" * 12 + "_" + "b" * 42 + "=",  # padding
        "ce_" + "A" * 12 + "_" + "b" * 42 + "+",  # standard base64
        "ce_" + "A" * 12 + "_" + "b" * 42 + "/",
        WELL_FORMED + "\n",
        " " + WELL_FORMED,
        WELL_FORMED + " ",
        WELL_FORMED + "x",
        "ce_" + "A" * 12 + "_" + "b" * 42 + "é",
        "ce_" + "A" * 11 + "٣" + "_" + "b" * 43,  # a non-ASCII digit
        f"Bearer {WELL_FORMED}",
        WELL_FORMED.replace("A", "\x00", 1),
    ],
)
def test_parse_refuses_malformed_tokens(token, store, table):
    assert parse(token) is None
    # AND such a token is refused before the table is read
    assert store.verify(token) is None
    assert not table.gets


# --- verification -----------------------------------------------------------------------------


def test_verify_gives_the_principal_of_a_live_token(store):
    token, record = store.mint("alice", ["ingest", "read"])

    assert store.verify(token) == Principal(record.token_id, "alice", frozenset({"ingest", "read"}))


def test_verify_refuses_wrong_secret_unknown_id_and_revoked(store):
    token, _ = store.mint("alice", ["ingest"])
    token_id, secret = split(token)
    other = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    assert store.verify(f"ce_{token_id}_{other}") is None
    assert store.verify(f"ce_{'Z' * 12}_{secret}") is None
    store.revoke("alice")
    assert store.verify(token) is None


# --- constant-time comparison (structural) ----------------------------------------------------


class RecordingCompare:
    """Wraps hmac.compare_digest, keeping the arguments of every call."""

    def __init__(self, real: Callable[[Any, Any], bool]) -> None:
        self.real = real
        self.calls: list[tuple[Any, Any]] = []

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return self.real(a, b)


@pytest.fixture
def compare(monkeypatch) -> RecordingCompare:
    recorder = RecordingCompare(hmac.compare_digest)
    monkeypatch.setattr("claude_events.tokens.hmac.compare_digest", recorder)
    return recorder


def variants(token: str) -> dict[str, str]:
    token_id, secret = split(token)

    def change(char: str) -> str:
        return "A" if char != "A" else "B"

    return {
        "right": token,
        "wrong-first-char": f"ce_{token_id}_{change(secret[0])}{secret[1:]}",
        "wrong-last-char": f"ce_{token_id}_{secret[:-1]}{change(secret[-1])}",
        "wrong-entirely": f"ce_{token_id}_{''.join(change(c) for c in secret)}",
        "unknown-id": f"ce_{'Zz9-' * 3}_{secret}",
    }


@pytest.mark.parametrize("case", ["right", "wrong-first-char", "wrong-last-char", "wrong-entirely", "unknown-id"])
def test_every_verification_compares_two_32_byte_digests_once(store, compare, case):
    token, _ = store.mint("alice", ["read"])
    presented = variants(token)[case]

    result = store.verify(presented)

    assert (result is not None) == (case == "right")
    assert len(compare.calls) == 1, "exactly one constant-time comparison per verification"
    ((presented_digest, stored_digest),) = compare.calls
    for value in (presented_digest, stored_digest):
        assert type(value) is bytes
        assert len(value) == 32
    # The presented side is the digest of the presented secret, never the secret itself.
    assert presented_digest == hashlib.sha256(split(presented)[1].encode()).digest()


def test_revoked_token_is_still_compared_in_constant_time(store, compare):
    token, _ = store.mint("alice", ["read"])
    store.revoke("alice")

    assert store.verify(token) is None
    ((a, b),) = compare.calls
    assert type(a) is bytes
    assert type(b) is bytes
    assert len(a) == len(b) == 32


def test_the_stored_side_of_the_comparison_is_the_table_digest(store, table, compare):
    token, record = store.mint("alice", ["read"])

    store.verify(token)

    ((_, stored),) = compare.calls
    assert stored == table.items[record.token_id]["secretHash"]["B"]


def traced_lines(function: Callable[[], Any]) -> list[tuple[str, int]]:
    """(function, line) of every line of claude_events/tokens.py executed while calling `function`."""
    source = tokens.__file__
    lines: list[tuple[str, int]] = []

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            lines.append((frame.f_code.co_name, frame.f_lineno))
        return local

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_filename == source:
            return local
        return None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        function()
    finally:
        sys.settrace(previous)
    return lines


def test_a_matching_prefix_takes_the_same_path_as_a_matching_suffix(store, compare):
    # GIVEN two wrong secrets: one wrong only in its first character, one only in its last
    token, _ = store.mint("alice", ["read"])
    cases = variants(token)

    # WHEN each is verified, tracing every line of tokens.py that runs
    first = traced_lines(lambda: store.verify(cases["wrong-first-char"]))
    last = traced_lines(lambda: store.verify(cases["wrong-last-char"]))
    entirely = traced_lines(lambda: store.verify(cases["wrong-entirely"]))

    # THEN all run exactly the same lines: nothing looks at how much of the secret matched
    assert first
    assert first == last == entirely
    assert ("verify", _line_of("hmac.compare_digest(digest(secret), stored)")) in first
    # AND the digests compared share no structure with the secrets' shared prefix or suffix
    (first_digest, _), (last_digest, _), _ = compare.calls
    assert first_digest[:4] != last_digest[:4]


def test_verify_source_has_no_plain_comparison_of_secrets():
    # A regression guard on the one function that touches secrets: no ==, startswith or slicing on them.
    import inspect

    source = inspect.getsource(TokenStore.verify)
    assert "compare_digest" in source
    for forbidden in ("secret ==", "== secret", "stored ==", "== stored", "startswith", "secret[", "stored["):
        assert forbidden not in source


def _line_of(fragment: str) -> int:
    with open(tokens.__file__) as handle:
        for number, line in enumerate(handle, start=1):
            if fragment in line:
                return number
    raise AssertionError(f"{fragment!r} not in tokens.py")


# --- revocation and listing (in memory) ---------------------------------------------------------


def test_revoke_by_name_or_id_and_list(store):
    alice, alice_record = store.mint("alice", ["read"])
    bob, bob_record = store.mint("bob", ["ingest"])

    assert [r.name for r in store.revoke("alice")] == ["alice"]
    assert [r.token_id for r in store.revoke(bob_record.token_id)] == [bob_record.token_id]
    assert store.revoke("alice") == []
    assert store.verify(alice) is None
    assert store.verify(bob) is None
    states = {record.token_id: record.revoked for record in store.all()}
    assert states == {alice_record.token_id: True, bob_record.token_id: True}


def _all_names(records: Iterator[Any]) -> list[str]:
    return sorted(record.name for record in records)


def test_same_name_refused_while_live_allowed_once_revoked(store):
    store.mint("alice", ["read"])
    with pytest.raises(TokenError, match="alice"):
        store.mint("alice", ["ingest"])

    store.revoke("alice")
    token, _ = store.mint("alice", ["ingest"])

    assert store.verify(token) is not None
    assert _all_names(store.all()) == ["alice", "alice"]
