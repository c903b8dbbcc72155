"""The exit-status contract and usage errors: one line on stderr, exit 2, no traceback."""

from __future__ import annotations

import argparse
import sys

import pytest

from procore_async import __version__
from procore_async.cli import main
from procore_async.cli._app import build_parser
from procore_async.cli._inputs import UsageError
from procore_async.cli._settings import load_settings


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("procore-async: error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["get", "me", "--no-such-flag"],
        ["no-such-command"],
        ["paginate"],
        ["get", "me", "--query", "{not json"],
        ["post", "projects", "--body", "{'single': 'quotes'}"],
        ["get", "me", "--query", "novalue"],
        ["sync", "vendors/sync"],
        ["demo", "--records", "zero"],
        ["demo", "--fault-rate", "1.5"],
        ["get", "me", "--timeout", "soon"],
        ["get", "me", "--company-id", "acme"],
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    _one_line_error(err)


def test_bad_json_names_the_argument_and_position(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["post", "projects", "--body", '{"a": }', "--client-id", "x"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "--body is not valid JSON" in line
    assert "line 1 column 7" in line


def test_missing_credentials_say_how_to_provide_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["get", "me"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "PROCORE_CLIENT_ID" in line
    assert "PROCORE_CLIENT_SECRET" in line


def test_a_bad_environment_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PROCORE_HOST", "api.procore.com")
    assert main(["get", "me", "--client-id", "a", "--client-secret", "b"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "PROCORE_HOST must be an http(s) URL" in line


def test_help_everywhere_exits_0_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(commands) == {
        "demo", "login", "get", "post", "put", "patch", "delete",
        "paginate", "sync", "doctor", "fake-server",
        "upload", "download", "fleet", "webhooks", "listen",
    }  # fmt: skip
    for argv in [["--help"], *([name, "--help"] for name in commands)]:
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "usage: procore-async" in out
        assert "examples:" in out


def test_version_and_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"procore-async {__version__}"
    assert main([]) == 2
    assert "usage: procore-async" in capsys.readouterr().err


def test_without_rich_the_cli_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # makes "import rich" fail
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pip install 'procore-async[cli]'" in err


def _args(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def test_flags_win_over_environment_which_wins_over_defaults() -> None:
    environ = {
        "PROCORE_HOST": "https://sandbox.procore.com",
        "PROCORE_LOGIN_HOST": "https://login-sandbox.procore.com",
        "PROCORE_TIMEOUT": "5",
        "PROCORE_MAX_RETRIES": "7",
        "PROCORE_VERSION": "v1.1",
        "PROCORE_COMPANY_ID": "42",
        "PROCORE_TOKEN_STORE": "/tmp/from-env.json",
        "PROCORE_CLIENT_ID": "env-id",
    }
    settings = load_settings(_args(["get", "me", "--timeout", "9", "--company-id", "7"]), environ)
    config = settings.config
    assert config.timeout == 9.0
    assert settings.company_id == "7"
    assert config.host == "https://sandbox.procore.com"
    assert config.login_host == "https://login-sandbox.procore.com"
    assert config.max_retries == 7
    assert config.default_version == "v1.1"
    assert str(settings.store_path) == "/tmp/from-env.json"
    assert settings.client_id == "env-id"
    assert settings.client_secret is None
    assert settings.store_key == "https://sandbox.procore.com"

    defaults = load_settings(_args(["get", "me"]), {"XDG_CONFIG_HOME": "/xdg"})
    assert defaults.config.host == "https://api.procore.com"
    assert str(defaults.store_path) == "/xdg/procore-async/tokens.json"


def test_a_per_command_api_version_flag_overrides_procore_version() -> None:
    args = _args(["get", "me", "--api-version", "v2.0"])
    assert load_settings(args, {"PROCORE_VERSION": "v1.1"}).config.default_version == "v2.0"
    with pytest.raises(UsageError, match="--api-version") as caught:
        load_settings(_args(["get", "me", "--api-version", "2"]), {})
    assert "Config." not in str(caught.value)


def test_the_old_version_spelling_still_works_with_a_note(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in (["get", "me"], ["sync", "vendors/sync", "--file", "x.csv"]):
        args = _args([*command, "--version", "v1.1"])
        assert load_settings(args, {}).config.default_version == "v1.1"
        assert "--version VERSION is now --api-version VERSION" in capsys.readouterr().err
    help_text = build_parser()._subparsers._group_actions[0].choices["get"].format_help()  # type: ignore[union-attr]
    assert "--api-version" in help_text and "--version" not in help_text.replace(
        "--api-version", ""
    )
    # The program's own --version is untouched.
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_cli_settings_take_the_other_config_fields_from_the_environment() -> None:
    env = {"PROCORE_RETRY_DEADLINE": "12", "PROCORE_MAX_CONNECTIONS": "4"}
    config = load_settings(_args(["get", "me"]), env).config
    assert (config.retry_deadline, config.max_connections) == (12.0, 4)
    with pytest.raises(UsageError, match="PROCORE_MAX_CONNECTIONS='many'"):
        load_settings(_args(["get", "me"]), {"PROCORE_MAX_CONNECTIONS": "many"})
    with pytest.raises(UsageError, match="must be https"):
        load_settings(_args(["get", "me"]), {"PROCORE_BASE_API_PATH": "http://example.com"})


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("https://api.procore.com", True),
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://[::1]:8000", True),
        ("http://api.procore.com", False),
        ("http://10.0.0.5", False),
    ],
)
def test_plain_http_is_refused_except_on_loopback(host: str, ok: bool) -> None:
    environ = {"PROCORE_HOST": host, "PROCORE_LOGIN_HOST": host}
    if ok:
        assert load_settings(_args(["get", "me"]), environ).config.host == host
    else:
        with pytest.raises(UsageError, match=r"PROCORE_HOST must be an https:// URL"):
            load_settings(_args(["get", "me"]), environ)


def test_the_apps_own_token_is_kept_apart_from_the_signed_in_users() -> None:
    environ = {"PROCORE_CLIENT_ID": "app-1"}
    user = load_settings(_args(["get", "me"]), environ)
    app = load_settings(_args(["get", "me", "--client-credentials"]), environ)
    assert user.store_key == "https://api.procore.com"
    assert app.store_key != user.store_key
    assert "app-1" in app.store_key
