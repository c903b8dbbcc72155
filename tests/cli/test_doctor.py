"""``procore-async doctor``: settings, token file and token, checked without a network."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import anyio
import pytest

from procore_async import Token
from procore_async.cli import main
from procore_async.stores import FileStore

Capsys = pytest.CaptureFixture[str]
CREDENTIALS = ["--client-id", "app", "--client-secret", "s3cret-value"]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Doctor must not open a socket; any attempt fails the test."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("doctor tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _save(path: Path, token: Token, key: str = "https://api.procore.com") -> None:
    anyio.run(FileStore(path, key=key).save, token)


def _rows(out: str) -> dict[str, str]:
    rows = {}
    for line in out.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[0] in "✓!✗":
            name_and_detail = line.split(maxsplit=1)[1]
            for name in ("client id", "client secret", "login host", "api version",
                         "max retries", "company id", "token store", "token file",
                         "file mode", "host", "timeout", "token"):  # fmt: skip
                if name_and_detail.startswith(name + " "):
                    rows[name] = parts[0] + " " + name_and_detail[len(name) :].strip()
                    break
    return rows


@pytest.mark.usefixtures("no_network")
def test_a_healthy_setup_passes(tmp_path: Path, capsys: Capsys) -> None:
    store = tmp_path / "tokens.json"
    _save(store, Token("access", "refresh", time.time() + 3600))
    assert main(["doctor", "--store", str(store), "--company-id", "8089", *CREDENTIALS]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert rows["client id"].startswith("✓ app")
    assert rows["client secret"] == "✓ set (hidden)  (from --client-secret)"
    assert "s3cret-value" not in out
    assert rows["file mode"] == "✓ 0600"
    assert re.match(r"✓ valid for (59|60) min; refresh token present", rows["token"])
    assert "all good" in out


@pytest.mark.usefixtures("no_network")
def test_missing_token_file_and_credentials_fail(capsys: Capsys, clean_env: Path) -> None:
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    rows = _rows(out)
    assert rows["client id"].startswith("✗ missing: set PROCORE_CLIENT_ID")
    assert rows["token file"].startswith("✗ ")
    assert "procore-async login" in rows["token file"]
    assert str(clean_env / "procore-async" / "tokens.json") in out.replace("\n", "")


@pytest.mark.usefixtures("no_network")
def test_bad_settings_loose_mode_and_expired_token(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "tokens.json"
    _save(store, Token("access", "refresh", time.time() - 600))
    os.chmod(store, 0o644)
    monkeypatch.setenv("PROCORE_TIMEOUT", "-1")
    monkeypatch.setenv("PROCORE_VERSION", "1.0")
    assert main(["doctor", "--store", str(store), *CREDENTIALS]) == 1
    rows = _rows(capsys.readouterr().out)
    assert rows["timeout"].startswith("✗ PROCORE_TIMEOUT must be a positive number")
    assert rows["api version"].startswith("✗ PROCORE_VERSION")
    assert rows["file mode"].startswith("✗ 0644")
    assert rows["token"].startswith("! expired 10 min ago; renewed on next use")
    assert rows["company id"].startswith("! not set")


@pytest.mark.usefixtures("no_network")
def test_tokens_are_looked_up_per_host(tmp_path: Path, capsys: Capsys) -> None:
    store = tmp_path / "tokens.json"
    _save(store, Token("access", None, time.time() + 30), key="https://sandbox.procore.com")
    argv = ["doctor", "--store", str(store), *CREDENTIALS]
    assert main(argv) == 1  # nothing for the production host
    assert "none for https://api.procore.com" in _rows(capsys.readouterr().out)["token"]
    assert main([*argv, "--host", "https://sandbox.procore.com/", "--company-id", "1"]) == 0
    out = capsys.readouterr().out
    assert re.match(r"! expires in \d+ s; renewed on next use", _rows(out)["token"])
    assert "all good (1 warning)" in out  # one warning, not "1 warnings"


@pytest.mark.usefixtures("no_network")
def test_a_corrupt_token_file_fails_without_quoting_it(tmp_path: Path, capsys: Capsys) -> None:
    store = tmp_path / "tokens.json"
    store.write_text('{"https://api.procore.com": "secret-looking-string"')
    store.chmod(0o600)
    assert main(["doctor", "--store", str(store), *CREDENTIALS]) == 1
    out = capsys.readouterr().out
    assert _rows(out)["token"].startswith("✗ token file")
    assert "secret-looking-string" not in out


@pytest.mark.usefixtures("no_network")
def test_client_credentials_need_no_saved_token(tmp_path: Path, capsys: Capsys) -> None:
    argv = ["doctor", "--client-credentials", "--store", str(tmp_path / "t.json")]
    assert main([*argv, "--company-id", "1", *CREDENTIALS]) == 0
    assert "will be created on first use" in capsys.readouterr().out
