"""The token store against DynamoDB (moto), on the tokens table exactly as template.yaml declares it."""

from __future__ import annotations

import hashlib

import pytest

from claude_events.tokens import Principal, TokenError, TokenStore, parse
from tests.support.auth import create_tokens_table


@pytest.fixture
def store(dynamodb) -> TokenStore:
    return TokenStore(dynamodb, create_tokens_table(dynamodb))


@pytest.mark.parametrize("scopes", [["ingest"], ["read"], ["ingest", "read"]])
def test_minted_token_verifies_with_its_name_and_scopes(store, scopes):
    token, record = store.mint("alice", scopes)

    principal = store.verify(token)

    assert principal == Principal(record.token_id, "alice", frozenset(scopes))
    assert record.revoked is False


def test_table_holds_the_digest_not_the_secret(store, dynamodb):
    token, record = store.mint("alice", ["read"])
    parts = parse(token)
    assert parts is not None
    _, secret = parts

    (item,) = dynamodb.scan(TableName="claude-events-tokens-test")["Items"]

    assert item["secretHash"]["B"] == hashlib.sha256(secret.encode()).digest()
    assert secret not in repr(item)
    assert secret.encode() not in repr(item).encode()
    assert item["tokenId"]["S"] == record.token_id


def test_wrong_secret_and_unknown_id_do_not_verify(store):
    token, _ = store.mint("alice", ["read"])
    parts = parse(token)
    assert parts is not None
    token_id, secret = parts
    flipped = ("A" if secret[0] != "A" else "B") + secret[1:]

    assert store.verify(f"ce_{token_id}_{flipped}") is None
    assert store.verify(f"ce_{'Q' * 12}_{secret}") is None
    assert store.verify(token.upper()) is None
    assert store.verify(token) is not None


@pytest.mark.parametrize("by", ["name", "id"])
def test_revoked_token_no_longer_verifies(store, by):
    token, record = store.mint("alice", ["ingest", "read"])
    other, _ = store.mint("bob", ["read"])

    revoked = store.revoke(record.name if by == "name" else record.token_id)

    assert [r.token_id for r in revoked] == [record.token_id]
    assert store.verify(token) is None
    # AND the other token is untouched
    assert store.verify(other) is not None
    states = {r.name: r.revoked for r in store.all()}
    assert states == {"alice": True, "bob": False}


def test_revoking_twice_or_an_unknown_name_revokes_nothing(store):
    store.mint("alice", ["read"])

    assert len(store.revoke("alice")) == 1
    assert store.revoke("alice") == []
    assert store.revoke("nobody") == []


def test_second_live_token_with_the_same_name_is_refused(store):
    store.mint("alice", ["read"])

    with pytest.raises(TokenError, match="alice"):
        store.mint("alice", ["ingest"])

    assert [r.name for r in store.all()] == ["alice"]


def test_revoked_name_can_be_minted_again(store):
    old, old_record = store.mint("alice", ["read"])
    store.revoke("alice")

    new, new_record = store.mint("alice", ["ingest"])

    assert new_record.token_id != old_record.token_id
    assert store.verify(old) is None
    assert store.verify(new) == Principal(new_record.token_id, "alice", frozenset({"ingest"}))
    assert sorted((r.name, r.revoked) for r in store.all()) == [("alice", False), ("alice", True)]
    # AND revoking the name now revokes only the live one
    assert [r.token_id for r in store.revoke("alice")] == [new_record.token_id]


def test_list_shows_every_token_without_secrets(store):
    minted = {name: store.mint(name, scopes) for name, scopes in [("alice", ["read"]), ("ci", ["ingest"])]}
    store.revoke("ci")

    listed = sorted(store.all(), key=lambda r: r.name)

    assert [(r.name, sorted(r.scopes), r.revoked) for r in listed] == [
        ("alice", ["read"], False),
        ("ci", ["ingest"], True),
    ]
    text = repr(listed) + repr([r.public() for r in listed])
    for token, _ in minted.values():
        parts = parse(token)
        assert parts is not None
        assert token not in text
        assert parts[1] not in text
        assert hashlib.sha256(parts[1].encode()).digest().hex() not in text
    assert "secretHash" not in text


def test_list_pages_through_a_large_table(store, dynamodb, monkeypatch):
    # GIVEN more tokens than one scan page holds (pages forced small)
    for n in range(7):
        store.mint(f"user-{n}", ["read"])
    real_scan = dynamodb.scan
    pages: list[int] = []

    def small_pages(**request):
        answer = real_scan(**request, Limit=3)
        pages.append(len(answer["Items"]))
        return answer

    monkeypatch.setattr(dynamodb, "scan", small_pages)

    # THEN listing follows LastEvaluatedKey to the end
    assert sorted(r.name for r in store.all()) == [f"user-{n}" for n in range(7)]
    assert len(pages) >= 3
