"""The examples run as documented: each against an in-process FakeProcore."""

from __future__ import annotations

import base64
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_bulk_import_generated_and_from_a_file(tmp_path: Path) -> None:
    done = _run("bulk_import.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "4,990 vendors created or updated, 10 rejected" in done.stdout
    assert "rejected erp-500: {'name': [\"can't be blank\"]}" in done.stdout
    assert "5,000 / 5,000 rows" in done.stderr

    csv_path = tmp_path / "vendors.csv"
    csv_path.write_text("origin_id,name,city\nv-1,Acme,\nv-2,Bolt Co,Austin\n")
    done = _run("bulk_import.py", str(csv_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 vendors created or updated, 0 rejected" in done.stdout


def test_worker_reviews_every_project(tmp_path: Path) -> None:
    done = _run("worker.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "60 projects reviewed, 0 failed, 0 deferred" in done.stdout


def _load_fastapi_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    pytest.importorskip("fastapi")
    pytest.importorskip("itsdangerous")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("TOKEN_FILE", str(tmp_path / "user-tokens.json"))
    spec = importlib.util.spec_from_file_location(
        "fastapi_app_example", EXAMPLES / "fastapi_app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_fastapi_app_service_and_per_user_calls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = _load_fastapi_app(monkeypatch, tmp_path).app
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1:8000", follow_redirects=True
        ) as http,
    ):
        companies = await http.get("/companies")
        assert companies.status_code == 200
        assert "Fake Construction Co." in {c["name"] for c in companies.json()}

        refused = await http.get("/me")
        assert refused.status_code == 401
        assert refused.json() == {"detail": "not signed in", "login": "/login"}
        first = await http.get("/login")  # follows /login -> /callback -> /projects
        assert first.status_code == 200, first.text
        assert first.url.path == "/projects"
        page = first.json()
        assert (page["page"], page["total"], page["prev"]) == (1, 250, None)
        assert len(page["projects"]) == 20
        second = (await http.get(page["next"])).json()
        assert second["page"] == 2 and second["prev"] is not None
        assert {p["id"] for p in second["projects"]}.isdisjoint(p["id"] for p in page["projects"])
        last = (await http.get("/projects", params={"page": 13})).json()
        assert (len(last["projects"]), last["next"]) == (10, None)
        assert (await http.get("/me")).json()["name"] == "Pat Builder"
        # The session cookie holds a reference only; the token is in the 0600 file.
        cookie = base64.b64decode(http.cookies["session"].split(".")[0] + "==")
        assert b"reference" in cookie
        assert b"access_token" not in cookie
        assert (tmp_path / "user-tokens.json").stat().st_mode & 0o777 == 0o600

        assert (await http.get("/logout")).json() == {"status": "signed out"}
        assert (await http.get("/me")).status_code == 401

        forged = await http.get("/callback", params={"code": "x", "state": "forged"})
        assert forged.status_code == 400
