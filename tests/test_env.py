"""Config.from_env(): every field from its PROCORE_* variable, errors naming the variable."""

from __future__ import annotations

import dataclasses

import pytest

from procore_async import Config
from procore_async._env import ENV_VARIABLES


def test_unset_and_empty_variables_keep_the_defaults() -> None:
    assert Config.from_env({}) == Config()
    assert Config.from_env({"PROCORE_HOST": "", "PROCORE_TIMEOUT": "  "}) == Config()


def test_every_field_but_the_logger_has_a_variable() -> None:
    fields = {f.name for f in dataclasses.fields(Config)} - {"logger"}
    assert set(ENV_VARIABLES) == fields
    for name, (variables, _) in ENV_VARIABLES.items():
        assert variables[0] == f"PROCORE_{name.upper()}"


def test_values_are_typed() -> None:
    config = Config.from_env(
        {
            "PROCORE_HOST": "http://127.0.0.1:8765/",
            "PROCORE_LOGIN_HOST": "http://127.0.0.1:8765",
            "PROCORE_DEFAULT_VERSION": "v1.1",
            "PROCORE_DEFAULT_BATCH_SIZE": "250",
            "PROCORE_MAX_RETRIES": "5",
            "PROCORE_RETRY_BACKOFF": "0.25",
            "PROCORE_MAX_RETRY_WAIT": "10",
            "PROCORE_TIMEOUT": "7.5",
            "PROCORE_MAX_CONCURRENCY": "4",
            "PROCORE_REFRESH_LEEWAY": "30",
            "PROCORE_USER_AGENT": "my-app/1.0",
            "PROCORE_RETRY_DEADLINE": "20",
            "PROCORE_RATE_LIMIT_RESERVE": "0",
            "PROCORE_MAX_CONNECTIONS": "64",
        }
    )
    assert config.host == "http://127.0.0.1:8765"
    assert config.default_version == "v1.1"
    assert (config.default_batch_size, config.max_retries, config.max_concurrency) == (250, 5, 4)
    assert (config.retry_backoff, config.timeout, config.retry_deadline) == (0.25, 7.5, 20.0)
    assert (config.rate_limit_reserve, config.max_connections) == (0, 64)
    assert isinstance(config.max_retries, int) and isinstance(config.timeout, float)
    assert config.user_agent == "my-app/1.0"


def test_the_gem_readme_names_and_the_old_cli_name_are_read() -> None:
    config = Config.from_env(
        {
            "PROCORE_BASE_API_PATH": "https://sandbox.procore.com",
            "PROCORE_BASE_LOGIN_PATH": "https://login-sandbox.procore.com",
            "PROCORE_VERSION": "v2.0",
        }
    )
    assert config.host == "https://sandbox.procore.com"
    assert config.login_host == "https://login-sandbox.procore.com"
    assert config.default_version == "v2.0"
    # The field's own name wins over an alias.
    both = {"PROCORE_HOST": "https://a.example", "PROCORE_BASE_API_PATH": "https://b.example"}
    assert Config.from_env(both).host == "https://a.example"


def test_retry_deadline_can_be_turned_off() -> None:
    base = Config(retry_deadline=5.0)
    assert Config.from_env({"PROCORE_RETRY_DEADLINE": "none"}, base=base).retry_deadline is None
    assert Config.from_env({}, base=base).retry_deadline == 5.0


@pytest.mark.parametrize(
    ("variable", "text", "reason"),
    [
        ("PROCORE_TIMEOUT", "soon", "must be a number"),
        ("PROCORE_TIMEOUT", "0", "positive number"),
        ("PROCORE_TIMEOUT", "nan", "positive number"),
        ("PROCORE_MAX_RETRIES", "1.5", "must be an integer"),
        ("PROCORE_MAX_RETRIES", "1_000", "must be an integer"),
        ("PROCORE_MAX_RETRIES", "-1", "0..100"),
        ("PROCORE_DEFAULT_BATCH_SIZE", "5000", "1..1000"),
        ("PROCORE_HOST", "api.procore.com", "http(s) URL"),
        ("PROCORE_BASE_LOGIN_PATH", "ftp://login", "http(s) URL"),
        ("PROCORE_DEFAULT_VERSION", "1.0", "invalid Procore API version"),
        ("PROCORE_RETRY_DEADLINE", "later", "must be a number"),
    ],
)
def test_a_bad_value_names_the_variable(variable: str, text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=variable) as caught:
        Config.from_env({variable: text})
    assert reason in str(caught.value)
    assert "Config." not in str(caught.value)


def test_os_environ_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCORE_MAX_RETRIES", "7")
    assert Config.from_env().max_retries == 7
