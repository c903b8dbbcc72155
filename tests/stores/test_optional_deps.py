"""The stores' optional packages: never needed to import ``procore_async.stores``."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Run in a fresh interpreter where redis, aiomcache and sqlalchemy cannot be imported.
BLOCKER = textwrap.dedent(
    """
    import sys
    from importlib.abc import MetaPathFinder

    class Block(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"redis", "aiomcache", "sqlalchemy"}:
                raise ImportError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, Block())
    """
)


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_stores_package_and_core_stores_work_without_extras() -> None:
    result = run(
        """
        import asyncio, tempfile, os
        import procore_async.stores as stores
        from procore_async.auth import Token

        async def main():
            path = os.path.join(tempfile.mkdtemp(), "t.json")
            store = stores.FileStore(path=path, key="k")
            await store.save(Token("a"))
            session = stores.SessionStore(session={})
            await session.save(Token("b"))
            print((await store.fetch()).access_token, (await session.fetch()).access_token)

        asyncio.run(main())
        assert not {"redis", "aiomcache", "sqlalchemy"} & set(sys.modules)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["a", "b"]


def test_a_store_without_its_package_imports_but_names_the_extra_when_built() -> None:
    result = run(
        """
        import procore_async
        from procore_async.stores import (
            FileStore, MemcachedStore, MemoryStore, RedisStore, SessionStore, SQLAlchemyStore,
            TokenStore,
        )
        from procore_async import RedisRateLimiter

        attempts = {
            "RedisStore": lambda: RedisStore(redis=None, key="k"),
            "MemcachedStore": lambda: MemcachedStore(client=None, key="k"),
            "SQLAlchemyStore": lambda: SQLAlchemyStore(session=None, obj=None),
            "RedisRateLimiter": lambda: RedisRateLimiter(redis=None, key="k"),
        }
        for name, build in attempts.items():
            try:
                build()
            except ImportError as exc:
                print(f"{name}: {exc}")
            else:
                raise SystemExit(f"{name} was built without its package")
        assert not {"redis", "aiomcache", "sqlalchemy"} & set(sys.modules)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for line, extra in zip(lines, ("redis", "memcached", "sqlalchemy", "redis"), strict=True):
        assert f"pip install 'procore-async[{extra}]'" in line
