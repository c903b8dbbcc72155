"""The pytest plugin in a user's project: async tests with ``fake_procore`` need no setup.

Each case is a fresh directory outside this repo (so none of its pytest settings apply)
and a pytest run in a new process, as a user's ``pytest`` would be.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FIXTURE_TEST = """
async def test_uses_the_fake(fake_procore):
    async with fake_procore.client() as client:
        me = await client.get("me", company_id=fake_procore.company_id)
    assert me.status_code == 200
"""

ANYIO_TEST = """
import pytest
from procore_async.testing import FakeProcore

@pytest.mark.anyio
async def test_without_the_fixture():
    fake = FakeProcore()
    async with fake.client() as client:
        assert (await client.get("companies", company_id=fake.company_id)).status_code == 200
"""

BARE_TEST = """
async def test_bare():
    pass
"""


def _pytest(
    tmp_path: Path, source: str, *args: str, ini: str = ""
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(source)
    if ini:
        (tmp_path / "pytest.ini").write_text(ini)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_user.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "ini"),
    [
        ((), ""),  # pytest-asyncio installed, in its default strict mode
        (("-p", "no:asyncio"), ""),  # no pytest-asyncio at all
        (("-p", "no:asyncio", "-p", "no:anyio"), ""),  # nor anyio's plugin
        ((), "[pytest]\nasyncio_mode = auto\n"),  # pytest-asyncio runs it instead
    ],
    ids=["strict-pytest-asyncio", "no-pytest-asyncio", "no-other-plugin", "asyncio-auto"],
)
def test_an_async_test_taking_fake_procore_just_runs(
    tmp_path: Path, args: tuple[str, ...], ini: str
) -> None:
    result = _pytest(tmp_path, FIXTURE_TEST, *args, ini=ini)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "warning" not in result.stdout.lower()


def test_the_anyio_marker_runs_other_async_tests(tmp_path: Path) -> None:
    result = _pytest(tmp_path, ANYIO_TEST, "-p", "no:asyncio")
    assert result.returncode == 0, result.stdout + result.stderr
    # Once per backend anyio finds: asyncio, and trio where it is installed (as here).
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_an_unmarked_async_test_without_the_fixture_is_not_taken_over(tmp_path: Path) -> None:
    # The plugin does not guess about tests that are not about the fake: pytest refuses
    # them, and the docs say to mark them.
    result = _pytest(tmp_path, BARE_TEST, "-p", "no:asyncio")
    assert result.returncode != 0
    assert "async def functions are not natively supported" in result.stdout
