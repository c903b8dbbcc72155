"""``procore-async login`` against FakeProcore over real HTTP: loopback and paste flows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from procore_async import OAuthError
from procore_async.cli import main
from procore_async.cli._inputs import UsageError
from procore_async.cli._login import OOB_REDIRECT_URI, parse_pasted
from procore_async.cli._loopback import CallbackListener
from procore_async.stores import FileStore

Capsys = pytest.CaptureFixture[str]


def _saved(store: Path, served: Any) -> Any:
    return anyio.run(FileStore(store, key=served.url).fetch)


def test_loopback_login_saves_the_token_and_later_commands_use_it(
    served: Any, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    visited: list[str] = []

    def browser(url: str) -> bool:
        # The "user" allows access: follow the authorize redirect to our listener.
        visited.append(url)
        response = httpx.get(url, follow_redirects=True, timeout=10)
        assert response.status_code == 200
        assert "you can close this tab" in response.text
        return True

    monkeypatch.setattr("webbrowser.open", browser)
    flags = served.flags(client_credentials=False)
    assert main(["login", "--port", str(served.callback_port), *flags]) == 0
    err = capsys.readouterr().err
    assert visited and visited[0].startswith(f"{served.url}/oauth/authorize?response_type=code")
    assert visited[0] in err.replace("\n", "")
    assert "signed in as Pat Builder <pat.builder@example.com>" in err

    token = _saved(served.store, served)
    assert token is not None and token.refresh_token
    assert served.store.stat().st_mode & 0o777 == 0o600
    assert served.fake.stats.token_grants["authorization_code"] == 1

    assert main(["get", "me", *flags]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Pat Builder"


def test_paste_login_in_a_subprocess(served: Any, run_cli: Any) -> None:
    code = served.fake.authorization_code(OOB_REDIRECT_URI)
    done = run_cli("login", "--paste", "--no-browser", env=served.env(), stdin=f"  {code}\n")
    assert done.returncode == 0, done.stderr
    assert "redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob" in done.stderr
    assert "token saved to" in done.stderr
    assert done.stdout == ""
    assert _saved(served.store, served) is not None


def test_a_refused_code_is_one_oauth_error_line(served: Any, run_cli: Any) -> None:
    done = run_cli("login", "--paste", "--no-browser", env=served.env(), stdin="not-a-code\n")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("procore-async: error: OAuthError: ")
    assert "Traceback" not in done.stderr


def test_parse_pasted_accepts_a_code_or_the_redirect_url() -> None:
    assert parse_pasted(" abc123 \n", "s") == "abc123"
    url = "http://127.0.0.1:8765/callback?code=xyz&state=s"
    assert parse_pasted(url, "s") == "xyz"
    with pytest.raises(UsageError, match="state does not match"):
        parse_pasted(url, "other")
    with pytest.raises(UsageError, match="sign-in failed: access_denied"):
        parse_pasted("http://127.0.0.1/callback?error=access_denied&state=s&code=", "s")
    with pytest.raises(UsageError, match="no code"):
        parse_pasted("   ", "s")


async def test_the_listener_ignores_a_wrong_state_and_reports_a_refusal() -> None:
    listener = await CallbackListener.open(0)
    base = listener.redirect_uri
    outcome: list[BaseException] = []

    async def wait() -> None:
        try:
            await listener.wait("good-state")
        except OAuthError as exc:
            outcome.append(exc)

    async with anyio.create_task_group() as tg, httpx.AsyncClient(timeout=5) as http:
        tg.start_soon(wait)
        forged = await http.get(f"{base}?code=evil&state=bad-state")
        assert forged.status_code == 400
        assert (await http.get(base.replace("/callback", "/favicon.ico"))).status_code == 404
        refused = await http.get(f"{base}?error=access_denied&state=good-state")
        assert refused.status_code == 200
        assert "access_denied" in refused.text
    assert len(outcome) == 1
    assert isinstance(outcome[0], OAuthError)
    assert outcome[0].error == "access_denied"


async def test_the_listener_returns_the_code() -> None:
    listener = await CallbackListener.open(0)
    codes: list[str] = []

    async def wait() -> None:
        codes.append(await listener.wait("s1"))

    async with anyio.create_task_group() as tg, httpx.AsyncClient(timeout=5) as http:
        tg.start_soon(wait)
        page = await http.get(f"{listener.redirect_uri}?code=the-code&state=s1")
        assert page.status_code == 200
    assert codes == ["the-code"]


def test_login_gives_up_when_no_sign_in_arrives(served: Any, capsys: Capsys) -> None:
    argv = ["login", "--port", "0", "--no-browser", "--wait", "0.3"]
    assert main([*argv, *served.flags(client_credentials=False)]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == "procore-async: error: no sign-in arrived within 0.3 s"
    assert not served.store.exists()
