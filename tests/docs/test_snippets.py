"""Every code block in docs/*.md and README.md holds up as pasted (the docs convention).

A ```python block is one of three things, told by its first line:

* ``# excerpt`` (or ``# excerpt: what it shows``): a fragment of a bigger program; only
  checked to be valid Python (top-level ``await`` allowed).
* ``# test_<name>.py``: a pytest file; written under that name in a fresh directory
  and run with pytest there, outside this repo's pytest settings (no ``asyncio_mode``,
  no ``filterwarnings``), as in a user's project.
* ``--8<-- "examples/<file>.py"`` lines only: a repository file included whole (by
  pymdownx.snippets); it must exist and compile, and its own tests run it.
* anything else: a complete program, run with ``python`` in a fresh directory, with
  no network; ``Config.from_env()`` finds a local ``procore-async fake-server``
  through ``PROCORE_*`` variables.

Pages are found by glob, so a page added later is checked with no change here, and
a block that fits none of the forms (or a Python block not tagged ``python``) fails.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import ROOT, child_env

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_PYTHON_ALIASES = {"py", "py3", "python3", "pycon", "ipython", "pyi"}
_PYTEST_FILE = re.compile(r"# (test_[a-z0-9_]+\.py)")
_INCLUDE = re.compile(r'--8<-- "([^"]+\.py)"')
_TIMEOUT = 120


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    code: str

    @property
    def first_line(self) -> str:
        return self.code.split("\n", 1)[0].strip()

    @property
    def kind(self) -> str:
        if self.first_line == "# excerpt" or self.first_line.startswith("# excerpt:"):
            return "excerpt"
        if self.first_line.startswith("# test_"):
            return "pytest"
        lines = [line.strip() for line in self.code.strip().splitlines()]
        if lines and all(_INCLUDE.fullmatch(line) for line in lines):
            return "include"
        return "program"

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    return [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


def extract(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        language = (match["info"].split() or [""])[0].lower()
        code = textwrap.dedent(match["body"])
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(str(path.relative_to(ROOT)), line, language, code))
    return found


BLOCKS = [block for page in pages() for block in extract(page)]
PYTHON = [block for block in BLOCKS if block.language == "python"]


def test_blocks_were_found_on_every_page_that_has_fences() -> None:
    for page in pages():
        fences = page.read_text(encoding="utf-8").count("```") // 2
        assert len(extract(page)) == fences, f"{page.name}: a fence was not parsed"
    assert len(PYTHON) >= 20


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_every_block_names_its_language(block: Block) -> None:
    assert block.language, f"{block}: give the fence a language (python, console, text...)"
    assert block.language not in _PYTHON_ALIASES, f"{block}: tag Python blocks ```python"


@pytest.mark.parametrize("block", PYTHON, ids=str)
def test_python_block(block: Block, request: pytest.FixtureRequest) -> None:
    if block.kind == "excerpt":
        # Fragments may use names defined elsewhere and top-level await, but must parse.
        compile(block.code, str(block), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        return
    if block.kind == "include":
        for match in _INCLUDE.finditer(block.code):
            path = ROOT / match[1]
            # Only examples: tests/cli/test_examples.py and tests/examples run each of them.
            assert match[1].startswith("examples/"), f"{block}: include examples/ files only"
            assert path.is_file(), f"{block}: {match[1]} does not exist"
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        return
    if block.kind == "program":
        try:
            compile(block.code, str(block), "exec")
        except SyntaxError as exc:
            pytest.fail(
                f"{block}: not a complete program ({exc.msg}, line {exc.lineno}); "
                "make it one, or start it with '# excerpt'"
            )
    else:
        match = _PYTEST_FILE.fullmatch(block.first_line)
        assert match, f"{block}: a pytest block starts '# test_<name>.py', not {block.first_line!r}"
    result = request.getfixturevalue("ran")[str(block)]
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"{block} failed as pasted:\n{output[-4000:]}"
    if block.kind == "pytest":
        assert re.search(r"\b\d+ passed\b", result.stdout), output
        assert not re.search(r"\b(failed|skipped|error|warnings?)\b", result.stdout), output


def _file_name(block: Block) -> str:
    match = _PYTEST_FILE.fullmatch(block.first_line)
    return match[1] if block.kind == "pytest" and match else "program.py"


def _run(block: Block, directory: Path, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one block as a reader would: its file alone in a fresh directory."""
    name = _file_name(block)
    (directory / name).write_text(block.code, encoding="utf-8")
    if block.kind == "pytest":
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", name]
    else:
        command = [sys.executable, name]
    env = child_env(**(extra if _needs_server(block.code) else {}))
    try:
        return subprocess.run(
            command, cwd=directory, env=env, capture_output=True, text=True,
            timeout=_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, -1, "", f"timed out after {_TIMEOUT} s")


@pytest.fixture(scope="module")
def ran(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every program and pytest block, run a few at a time (each is mostly start-up)."""
    runnable = [b for b in PYTHON if b.kind in ("program", "pytest") and _valid(b)]
    needs = any(_needs_server(b.code) for b in runnable)
    extra = request.getfixturevalue("fake_server_env") if needs else {}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            str(b): pool.submit(_run, b, tmp_path_factory.mktemp("block"), extra) for b in runnable
        }
        return {key: future.result() for key, future in futures.items()}


def _valid(block: Block) -> bool:
    if block.kind == "pytest":
        return _PYTEST_FILE.fullmatch(block.first_line) is not None
    try:
        compile(block.code, str(block), "exec")
    except SyntaxError:
        return False
    return True


def _needs_server(code: str) -> bool:
    return "from_env" in code or "PROCORE_" in code
