"""End to end in a real browser: the FastAPI example against ``procore-async fake-server``.

Two real servers over HTTP, each its own process, as a developer would start them:
``procore-async fake-server --redirect-uri .../callback`` and ``uvicorn
examples.fastapi_app:app`` pointed at it through ``PROCORE_*`` variables.  Headless
Chromium (Debian's ``chromium``, driven by Playwright) signs in: /login redirects to the
fake's /oauth/authorize, which redirects back to /callback with a code, which the app
exchanges and then shows /projects, page by page.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require(ok: bool, reason: str) -> None:
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser test: {reason}")
    print(f"skipping the browser test: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(
    command: list[str], env: dict[str, str], port: int, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[2]} exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{command} did not listen on {port}: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[str]:
    """fake-server and the example app, each on a free port; yields the app's base URL."""
    fake_port, app_port = _free_port(), _free_port()
    app_url, fake_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{fake_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCORE_", "PYTEST_"))}
    env["PYTHONPATH"] = str(ROOT)
    fake = _start(
        [sys.executable, "-m", "procore_async", "fake-server", "--port", str(fake_port),
         "--storage-port", str(_free_port()), "--redirect-uri", f"{app_url}/callback"],
        env, fake_port, tmp_path / "fake-server.log",
    )  # fmt: skip
    app_env = {
        **env,
        "PROCORE_HOST": fake_url,
        "PROCORE_LOGIN_HOST": fake_url,
        "PROCORE_CLIENT_ID": "fake-client-id",
        "PROCORE_CLIENT_SECRET": "fake-client-secret",
        "PROCORE_COMPANY_ID": "8089",
        "PROCORE_REDIRECT_URI": f"{app_url}/callback",
        "TOKEN_FILE": str(tmp_path / "user-tokens.json"),
    }
    try:
        app = _start(
            [sys.executable, "-m", "uvicorn", "examples.fastapi_app:app", "--port", str(app_port)],
            app_env, app_port, tmp_path / "app.log",
        )  # fmt: skip
        try:
            yield app_url
        finally:
            _stop(app)
    finally:
        _stop(fake)


@pytest.mark.slow
def test_sign_in_and_list_projects_in_chromium(servers: str, tmp_path: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require(False, "the playwright package is not installed (pip install playwright)")
    _require(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
        )
        try:
            page = browser.new_page()
            visited: list[str] = []
            page.on("request", lambda request: visited.append(request.url))

            page.goto(f"{servers}/me")
            assert json.loads(page.inner_text("body")) == {
                "detail": "not signed in",
                "login": "/login",
            }

            page.goto(f"{servers}/login")  # -> fake's /oauth/authorize -> /callback -> /projects
            page.wait_for_url(f"{servers}/projects*")
            first = json.loads(page.inner_text("body"))
            assert any("/oauth/authorize?" in url for url in visited)
            assert any(url.startswith(f"{servers}/callback?code=") for url in visited)
            assert (first["page"], first["total"], len(first["projects"])) == (1, 250, 20)

            page.goto(first["next"])
            second = json.loads(page.inner_text("body"))
            assert second["page"] == 2 and second["prev"]
            assert {p["id"] for p in second["projects"]}.isdisjoint(
                p["id"] for p in first["projects"]
            )

            page.goto(f"{servers}/me")
            assert json.loads(page.inner_text("body"))["name"] == "Pat Builder"
            # The browser holds a signed reference only; the token stays on the server.
            cookies = {c["name"]: c["value"] for c in browser.cookies()}
            assert "access_token" not in json.dumps(cookies)
            assert (tmp_path / "user-tokens.json").stat().st_mode & 0o777 == 0o600

            page.goto(f"{servers}/logout")
            assert json.loads(page.inner_text("body")) == {"status": "signed out"}
            page.goto(f"{servers}/me")
            assert "not signed in" in page.inner_text("body")
        finally:
            browser.close()
