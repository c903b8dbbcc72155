"""The packaged catalog data is exactly what tools/gen_fake_catalog.py makes of tools/catalog/."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "gen_fake_catalog.py"
CATALOG = ROOT / "tools" / "catalog" / "operations-details.json.gz"
DATA = ROOT / "procore_async" / "testing" / "_catalog_data.py"


def _generator() -> ModuleType:
    if not CATALOG.exists() or not TOOL.exists():
        pytest.skip(f"{CATALOG.relative_to(ROOT)} is absent (an sdist or wheel install)")
    spec = importlib.util.spec_from_file_location("gen_fake_catalog", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regenerating_the_catalog_data_changes_nothing() -> None:
    gen = _generator()
    assert gen.render(gen.load(CATALOG)) == DATA.read_text(encoding="utf-8")


def test_check_mode_flags_a_stale_file(tmp_path: Path) -> None:
    _generator()
    stale = tmp_path / "_catalog_data.py"
    stale.write_text("OPERATIONS = ''\n", encoding="utf-8")
    command = [sys.executable, str(TOOL), "--check", "--output", str(stale)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "stale" in result.stdout
    fresh = subprocess.run([*command[:-1], str(DATA)], capture_output=True, text=True, check=False)
    assert fresh.returncode == 0


def test_every_addition_cites_its_document() -> None:
    gen = _generator()
    assert len(gen.ADDITIONS) == 6
    for method, path, _flags, _status, source in gen.ADDITIONS:
        assert path.startswith("/rest/v2.1/companies/{company_id}"), (method, path)
        assert "tutorial_unified_uploads.md" in source
