"""mypy and pyright, run on a user's file, catch the mistakes the typed resources exist for.

The same checks a user's editor or CI runs: a misspelt field of a typed result, a
wrong parameter type and a missing required path parameter are reported, by
both checkers, at the line where they are; the correct program passes both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
from __future__ import annotations

from procore_async import AsyncClient, Response
from procore_async.resources.projects import Project, ProjectsListItem


async def main(client: AsyncClient) -> None:
    response: Response[Project] = await client.api.projects.show(id=1, company_id=2)
    project: Project = response.data
    name: str = project.get("name", "")
    async for item in client.api.projects.list(company_id=2, per_page=100):
        listed: ProjectsListItem = item
        print(listed.get("id"), name)
    result = await client.api.company_vendors.sync(
        company_id=2, body={"updates": [{"origin_id": "a", "name": "A"}]}
    )
    print(result.entities)
    async for raw in client.paginate("projects", item_type=ProjectsListItem):
        print(raw.get("display_name"))
"""

BAD = {
    "misspelt field": '    print(project["nmae"])\n',
    "wrong parameter type": '    client.api.projects.list(company_id=2, per_page="100")\n',
    "missing path parameter": "    client.api.rfis.list(company_id=2)\n",
}


def _write(directory: Path) -> tuple[Path, dict[str, int]]:
    lines = GOOD.splitlines(keepends=True)
    where = next(i for i, line in enumerate(lines) if "name: str =" in line) + 1
    numbers = {}
    for offset, (label, line) in enumerate(BAD.items()):
        lines.insert(where + offset, line)
        numbers[label] = where + offset + 1
    (directory / "good.py").write_text(GOOD)
    bad = directory / "bad.py"
    bad.write_text("".join(lines))
    return bad, numbers


def _tool(name: str) -> list[str]:
    if name == "mypy":
        return [sys.executable, "-m", "mypy"]
    found = shutil.which("pyright")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pyright is not installed (pip install 'procore-async[dev]')")
        pytest.skip("pyright is not installed")
    return [found]


def _errors(tool: str, directory: Path) -> tuple[dict[str, set[int]], str]:
    """Lines with an error, by file, from one run of ``tool`` over good.py and bad.py."""
    env = {**os.environ, "MYPYPATH": str(ROOT), "PYTHONPATH": str(ROOT)}
    files = ["good.py", "bad.py"]
    found: dict[str, set[int]] = {name: set() for name in files}
    if tool == "mypy":
        command = [*_tool(tool), "--strict", "--cache-dir", str(directory / ".mypy"), *files]
        done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True)
        for line in done.stdout.splitlines():
            name, _, rest = line.partition(":")
            if name in found and ": error:" in rest:
                found[name].add(int(rest.split(":")[0]))
        return found, done.stdout
    config = {"extraPaths": [str(ROOT)], "typeCheckingMode": "strict", "include": files}
    (directory / "pyrightconfig.json").write_text(json.dumps(config))
    done = subprocess.run(
        [*_tool(tool), "--outputjson"], cwd=directory, env=env, capture_output=True, text=True
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"pyright did not run: {done.stdout[-500:]} {done.stderr[-500:]}")
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            name = Path(diagnostic["file"]).name
            found[name].add(diagnostic["range"]["start"]["line"] + 1)
    return found, done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["mypy", "pyright"])
def test_checkers_report_the_mistakes_and_pass_the_correct_program(
    tool: str, tmp_path: Path
) -> None:
    _, numbers = _write(tmp_path)
    errors, output = _errors(tool, tmp_path)
    assert errors["good.py"] == set(), output
    for label, number in numbers.items():
        assert number in errors["bad.py"], f"{tool} missed the {label} on line {number}:\n{output}"
    assert errors["bad.py"] <= set(numbers.values()), output
