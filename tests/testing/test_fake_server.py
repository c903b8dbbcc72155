"""FakeProcore over a real socket (uvicorn), and the pytest plugin."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from procore_async.testing import FakeProcore, serving


async def test_serving_on_a_real_loopback_socket() -> None:
    fake = FakeProcore()
    async with serving(fake) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        token = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": fake.client_id,
                  "client_secret": fake.client_secret},
        )  # fmt: skip
        assert token.status_code == 200
        headers = {
            "Authorization": f"Bearer {token.json()['access_token']}",
            "Procore-Company-Id": str(fake.company_id),
        }
        page = await http.get(f"/rest/v1.0/projects?company_id={fake.company_id}", headers=headers)
        assert page.status_code == 200
        assert page.headers["link"].startswith(f"<{base_url}/rest/v1.0/projects?")
        assert page.headers["x-rate-limit-limit"] == "3600"
        fake.faults(error_rate=1.0, kinds=["drop_before"])
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get("/rest/v1.0/me", headers=headers)
    assert fake.stats.faults["drop_before"] == 1


def test_serving_leaves_the_callers_logging_alone(tmp_path) -> None:
    # uvicorn's default log config closes every handler in the process; serving() must not.
    code = f"""
import logging, anyio
from procore_async.testing import FakeProcore, serving
logging.basicConfig(level=logging.INFO, filename={str(tmp_path / "app.log")!r})
async def main():
    async with serving(FakeProcore()):
        logging.getLogger("app").info("logged while serving")
anyio.run(main)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "logged while serving" in (tmp_path / "app.log").read_text()


def test_fixture_gives_a_fresh_fake(fake_procore: FakeProcore) -> None:
    assert isinstance(fake_procore, FakeProcore)
    assert fake_procore.stats.requests == 0
    assert len(fake_procore.records(fake_procore.company_id, "projects")) == 250


def test_plugin_is_import_light() -> None:
    code = (
        "import sys, procore_async.testing.pytest_plugin;"
        "print(sorted(m for m in sys.modules if m.startswith('procore_async.testing.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['procore_async.testing.pytest_plugin']"
