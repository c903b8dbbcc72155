"""Config: design.md's defaults, validation of every field, and the process default."""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import httpx
import pytest
import respx

import procore_async
from procore_async import AsyncClient, Config, Token, configure, get_config
from procore_async import _config as config_module
from procore_async.stores import MemoryStore


@pytest.fixture(autouse=True)
def _restore_process_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # configure() changes a module global; put it back after every test.
    monkeypatch.setattr(config_module, "_default", get_config())


def test_defaults_match_the_design() -> None:
    config = Config()
    assert config.host == "https://api.procore.com"
    assert config.login_host == "https://login.procore.com"
    assert config.default_version == "v1.0"
    assert config.default_batch_size == 500
    assert config.max_retries == 3
    assert config.retry_backoff == 1.5
    assert config.max_retry_wait == 60.0
    assert config.timeout == 30.0
    assert config.max_concurrency == 8
    assert config.refresh_leeway == 60.0
    assert config.user_agent == f"procore-async/{procore_async.__version__}"
    assert config.logger is logging.getLogger("procore_async")


def test_the_timeout_becomes_an_httpx_timeout() -> None:
    assert Config().http_timeout == httpx.Timeout(30.0)
    custom = httpx.Timeout(5.0, connect=2.0)
    assert Config(timeout=custom).http_timeout is custom


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host", "api.procore.com"),
        ("host", "ftp://api.procore.com"),
        ("host", "https://"),
        ("host", ""),
        ("host", None),
        ("host", "https://api.procore.com:notaport"),
        ("host", "https://api.procore.com?x=1"),
        ("host", "https://api.procore.com#frag"),
        ("login_host", "login.procore.com"),
        ("login_host", 42),
        ("default_version", "v1"),
        ("default_version", "V1.0"),
        ("default_version", "rest/v1.0"),
        ("default_version", ""),
        ("default_version", "v2"),
        ("default_version", "v\u0661.\u0660"),  # Arabic-Indic digits are not ASCII digits
        ("default_version", 1.0),
        ("default_batch_size", 0),
        ("default_batch_size", 1001),
        ("default_batch_size", -1),
        ("default_batch_size", 10.0),
        ("default_batch_size", True),
        ("default_batch_size", "500"),
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("max_retries", None),
        ("retry_backoff", -0.1),
        ("retry_backoff", math.nan),
        ("retry_backoff", "1.5"),
        ("max_retry_wait", -1),
        ("max_retry_wait", math.inf),
        ("timeout", -1),
        ("timeout", 0),
        ("timeout", None),
        ("timeout", math.nan),
        ("timeout", "30"),
        ("max_concurrency", 0),
        ("max_concurrency", -8),
        ("refresh_leeway", -60),
        ("refresh_leeway", False),
        ("user_agent", ""),
        ("user_agent", "   "),
        ("user_agent", "bad\r\nX-Injected: 1"),
        ("user_agent", "caf\u00e9"),
        ("user_agent", None),
        ("logger", "procore_async"),
        ("logger", None),
        ("logger", logging.LoggerAdapter(logging.getLogger("x"), {})),
        ("retry_deadline", 0),
        ("retry_deadline", -5),
        ("rate_limit_reserve", -1),
        ("max_connections", 0),
    ],
)
def test_every_field_is_validated_and_named(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=rf"Config\.{field}\b"):
        Config(**{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host", "http://localhost:8000"),
        ("host", "https://sandbox.procore.com/"),
        ("default_version", "v10.25"),
        ("default_version", "vapid"),
        ("default_batch_size", 1),
        ("default_batch_size", 1000),
        ("max_retries", 0),
        ("timeout", 0.5),
        ("timeout", httpx.Timeout(None)),
        ("max_concurrency", 1),
        ("refresh_leeway", 0),
        ("retry_deadline", None),
        ("retry_deadline", 120.0),
        ("logger", logging.getLogger("my.app")),
    ],
)
def test_valid_values_are_accepted(field: str, value: Any) -> None:
    assert getattr(Config(**{field: value}), field) == (
        value.rstrip("/") if field == "host" else value
    )


def test_config_is_frozen() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.host = "https://evil.example.com"  # type: ignore[misc]


def test_replace_makes_a_validated_copy() -> None:
    config = Config()
    faster = config.replace(timeout=5.0)
    assert faster.timeout == 5.0
    assert config.timeout == 30.0
    with pytest.raises(ValueError, match=r"Config\.timeout"):
        config.replace(timeout=-1)


async def test_configure_changes_the_default_for_clients_built_later() -> None:
    async with AsyncClient("id", "secret") as before:
        updated = configure(host="https://sandbox.procore.com", max_retries=5)
        async with AsyncClient("id", "secret") as after:
            assert updated is get_config()
            assert after.config.host == "https://sandbox.procore.com"
            assert after.config.max_retries == 5
            assert before.config.host == "https://api.procore.com"
            assert before.config.max_retries == 3


def test_configure_keeps_earlier_changes() -> None:
    configure(max_retries=1)
    configure(timeout=5.0)
    assert (get_config().max_retries, get_config().timeout) == (1, 5.0)


def test_configure_validates_and_keeps_the_old_default_on_error() -> None:
    default = get_config()
    with pytest.raises(ValueError, match=r"Config\.default_batch_size"):
        configure(default_batch_size=0)
    assert get_config() is default
    with pytest.raises(TypeError):
        configure(hots="https://typo.example.com")
    assert get_config() is default


async def test_a_client_uses_the_configured_default_on_the_wire(
    respx_mock: respx.MockRouter,
) -> None:
    configure(host="https://sandbox.procore.com", user_agent="my-app/1.0", max_retries=0)
    route = respx_mock.get("https://sandbox.procore.com/rest/v1.0/me").respond(200)
    store = MemoryStore()
    await store.save(Token("token", "refresh", 2**40))
    async with AsyncClient("id", "secret", store) as client:
        await client.get("me")
    assert route.calls.last.request.headers["User-Agent"] == "my-app/1.0"
