"""Token: the gem's token tests plus normalisation of every expiry shape."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from procore_async import Token, TokenStoreError
from procore_async.auth import normalize_expires_at


def test_fields_are_stored_as_given() -> None:
    expires = time.time() + 3600
    token = Token("access", "refresh", expires)
    assert token.access_token == "access"
    assert token.refresh_token == "refresh"
    assert token.expires_at == int(expires)


def test_valid_token_is_not_expired() -> None:
    assert not Token("a", "r", time.time() + 3600).expired


def test_token_expired_an_hour_ago_is_expired() -> None:
    assert Token("a", "r", time.time() - 3600).expired


def test_token_without_expiry_counts_as_expired() -> None:
    assert Token("a", "r", None).expired


def test_token_with_access_token_is_valid_and_without_is_invalid() -> None:
    assert not Token("a").invalid
    assert Token(None).invalid


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (1700000000, 1700000000),
        (1700000000.9, 1700000000),
        ("1700000000", 1700000000),
        (datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc), 1700000000),
        (datetime(2023, 11, 14, 22, 13, 20), 1700000000),  # naive = UTC
        (datetime(2023, 11, 14, 23, 13, 20, tzinfo=timezone(timedelta(hours=1))), 1700000000),
        ("2023-11-14T22:13:20.000Z", 1700000000),  # the gem's JSON for a Ruby Time
        ("2023-11-14T22:13:20Z", 1700000000),
        ("2023-11-14T22:13:20+00:00", 1700000000),
        ("2023-11-14 22:13:20.000000000 Z", 1700000000),  # the gem's YAML for a Ruby Time
        ("2023-11-14 22:13:20 UTC", 1700000000),
    ],
)
def test_expires_at_is_normalised_to_epoch_seconds(value: object, expected: int | None) -> None:
    assert normalize_expires_at(value) == expected
    assert Token("a", None, value).expires_at == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["tomorrow", "2023-13-45", True, float("nan"), [1], {}])
def test_bad_expires_at_is_a_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        Token("a", None, value)  # type: ignore[arg-type]


def test_gem_iso_expiry_is_not_read_as_the_year() -> None:
    # The gem turns "2030-...".to_i into 2030, so such tokens always look expired.
    assert not Token("a", "r", "2100-01-01T00:00:00.000Z").expired


def test_is_due_inside_the_leeway() -> None:
    now = 1_000_000.0
    token = Token("a", "r", now + 30)
    assert token.is_due(60, now=now)
    assert not token.is_due(10, now=now)
    assert token.expires_in(now=now) == 30


def test_json_round_trip_uses_the_gem_field_names() -> None:
    token = Token("a", "r", 1700000000)
    assert token.to_json() == '{"access_token":"a","refresh_token":"r","expires_at":1700000000}'
    assert Token.from_json(token.to_json()) == token


def test_json_written_by_the_gem_is_read() -> None:
    text = '{"access_token":"a","refresh_token":"r","expires_at":"2100-01-01T00:00:00.000Z","x":1}'
    token = Token.from_json(text)
    assert token.access_token == "a"
    assert not token.expired


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '"#<Procore::Auth::Token:0x000>"',  # what the gem writes without ActiveSupport
        "[1, 2]",
        '{"access_token": 5}',
        '{"access_token": "a", "expires_at": "soon"}',
    ],
)
def test_corrupt_json_is_a_token_store_error(text: str) -> None:
    with pytest.raises(TokenStoreError):
        Token.from_json(text)


def test_repr_never_shows_secrets() -> None:
    text = repr(Token("very-secret-access", "very-secret-refresh", 1700000000))
    assert "very-secret" not in text
    assert "1700000000" in text
    assert "very-secret" not in str(Token("very-secret-access"))


def test_from_oauth_computes_expiry_and_keeps_old_refresh_token() -> None:
    previous = Token("old", "old-refresh", 0)
    token = Token.from_oauth(
        {"access_token": "new", "expires_in": 5400}, previous=previous, now=100
    )
    assert token == Token("new", "old-refresh", 5500)


def test_token_is_frozen() -> None:
    token = Token("a")
    with pytest.raises(AttributeError):
        token.access_token = "b"  # type: ignore[misc]
