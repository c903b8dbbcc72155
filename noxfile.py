"""Developer sessions: ``nox -s tests lint typecheck docs`` (``nox -l`` lists them)."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

SOURCES = ["procore_async", "tests", "benchmarks", "examples", "noxfile.py", "tools", "docs/hooks"]


@nox.session(python=["3.10", "3.11", "3.12", "3.13"])
def tests(session: nox.Session) -> None:
    """The test suite; needs redis-server and memcached on PATH (see .ci/run)."""
    session.install("-e", ".[redis,memcached,sqlalchemy,cli,test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, with every extra installed."""
    session.install("-e", ".[redis,memcached,sqlalchemy,cli,test]", "mypy", "types-aiofiles")
    session.run("mypy", "-p", "procore_async")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the mkdocs-material site strictly (broken links fail)."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session
def bench(session: nox.Session) -> None:
    """Run every side-by-side benchmark once, then draw docs/benchmarks.png from the results."""
    session.install("-e", ".[all]")
    # A missed target (exit 1) still records its figures, and the chart shows them.
    session.run("python", "benchmarks/run_all.py", *session.posargs, success_codes=[0, 1])
    session.run("python", "benchmarks/chart.py")
