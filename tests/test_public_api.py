"""The public surface: design.md's contract is importable, and every ``__all__`` is honest."""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import re
import subprocess
import sys
from types import ModuleType

import pytest

import procore_async

# design.md, "Public API contract": these imports must keep working.
CONTRACT = {
    "procore_async": [
        "AsyncClient",
        "Config",
        "Token",
        "Response",
        "SyncResult",
        "configure",
        "Error",
        "APIConnectionError",
        "AuthorizationError",
        "ForbiddenError",
        "InvalidRequestError",
        "MissingTokenError",
        "NotFoundError",
        "OAuthError",
        "RateLimitError",
        "ServerError",
        "SyncError",
    ],
    "procore_async.stores": [
        "TokenStore",
        "MemoryStore",
        "FileStore",
        "RedisStore",
        "MemcachedStore",
        "SessionStore",
        "SQLAlchemyStore",
    ],
    "procore_async.testing": ["FakeProcore"],
}
PACKAGES = [
    "procore_async",
    "procore_async.stores",
    "procore_async.auth",
    "procore_async.testing",
    "procore_async.files",
]


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.mark.parametrize(("module", "names"), CONTRACT.items())
def test_each_package_imports_first_in_a_fresh_interpreter(module: str, names: list[str]) -> None:
    # An import cycle hides when another package happened to load first in the same process.
    code = f"from {module} import {', '.join(names)}"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1:]


@pytest.mark.parametrize(("module", "names"), CONTRACT.items())
def test_the_contract_is_importable_and_exported(module: str, names: list[str]) -> None:
    mod = _module(module)
    for name in names:
        assert name in mod.__all__, f"{module}.{name} missing from __all__"
        assert getattr(mod, name) is not None


def _isort_style(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then everything else."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


@pytest.mark.parametrize("module", ["procore_async", "procore_async.stores"])
def test_the_main_all_lists_are_plainly_sorted(module: str) -> None:
    exported = list(_module(module).__all__)
    assert exported == sorted(exported)


@pytest.mark.parametrize("module", PACKAGES)
def test_all_is_sorted_unique_and_resolves(module: str) -> None:
    mod = _module(module)
    exported = list(mod.__all__)
    assert exported == sorted(exported, key=_isort_style)
    assert len(set(exported)) == len(exported)
    for name in exported:
        assert hasattr(mod, name), f"{module}.__all__ names {name!r}, which does not exist"


@pytest.mark.parametrize("module", PACKAGES)
def test_every_public_name_is_in_all(module: str) -> None:
    mod = _module(module)
    public = {
        name
        for name in dir(mod)
        if not name.startswith("_") and not inspect.ismodule(getattr(mod, name))
    }
    assert public <= set(mod.__all__), public - set(mod.__all__)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from procore_async import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(procore_async.__all__)


def test_every_exported_exception_is_a_procore_async_error() -> None:
    errors = [
        getattr(procore_async, name)
        for name in procore_async.__all__
        if inspect.isclass(getattr(procore_async, name))
        and issubclass(getattr(procore_async, name), BaseException)
    ]
    assert len(errors) >= 13
    for cls in errors:
        assert issubclass(cls, procore_async.Error), cls


def test_public_classes_show_the_public_module() -> None:
    for name in ("AsyncClient", "Config", "Response", "NotFoundError", "Token"):
        assert getattr(procore_async, name).__module__ == "procore_async", name


def test_version_is_a_release_string() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([abc]|rc)?\d*(\.dev\d+)?", procore_async.__version__)


def test_the_package_is_marked_typed() -> None:
    marker = importlib.resources.files("procore_async") / "py.typed"
    assert marker.is_file()


def test_the_public_private_split() -> None:
    # Implementation modules are private; the package never re-exports them by name.
    assert all(not name.startswith("_") or name == "__version__" for name in procore_async.__all__)
