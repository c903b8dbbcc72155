"""FileStore: the gem's store tests, many keys per file, crash safety, locking, the gem's YAML."""

# Setting up and inspecting files and child processes from the test body blocks the
# loop for microseconds; that is harmless in a test.

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from procore_async import TokenStoreError
from procore_async.auth import Token
from procore_async.stores import FileStore, LockingTokenStore, TokenStore

WORKER = Path(__file__).with_name("_file_worker.py")

# The gem's YAML::Store file (ruby-gem-behaviour.md §8.1): integer key 7, string key
# "other", one epoch and one Ruby Time expires_at (both are 1700000000).
GEM_YAML = """\
---
7: !ruby/object:Procore::Auth::Token
  access_token: a
  refresh_token: r
  expires_at: 1700000000
other: !ruby/object:Procore::Auth::Token
  access_token: a
  refresh_token: r
  expires_at: 2023-11-14 22:13:20.000000000 Z
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "tokens.json"


async def test_store_overwrite_delete(path: Path) -> None:
    store = FileStore(path=path, key=1)
    assert await store.fetch() is None
    await store.save(Token("token", "refresh", 55))
    assert await store.fetch() == Token("token", "refresh", 55)
    await store.save(Token("new token", "new refresh", 56))
    assert await FileStore(path=path, key=1).fetch() == Token("new token", "new refresh", 56)
    await store.delete()
    assert await store.fetch() is None
    await store.delete()  # deleting what is not there is fine


async def test_many_keys_in_one_file_written_as_json(path: Path) -> None:
    first, second = FileStore(path=path, key="a"), FileStore(path=path, key=7)
    await first.save(Token("ta", "ra", 1))
    await second.save(Token("t7", "r7", 2))
    await first.delete()
    assert json.loads(path.read_text()) == {
        "7": {"access_token": "t7", "refresh_token": "r7", "expires_at": 2}
    }
    assert await first.fetch() is None
    assert await second.fetch() == Token("t7", "r7", 2)


async def test_is_a_locking_token_store(path: Path) -> None:
    store = FileStore(path=path, key="k")
    assert isinstance(store, TokenStore)
    assert isinstance(store, LockingTokenStore)


async def test_file_and_lock_file_are_private_even_with_an_open_umask(path: Path) -> None:
    old = os.umask(0)
    try:
        await FileStore(path=path, key="k").save(Token("t", "r", 1))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(f"{path}.lock").stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["tokens.json", "tokens.json.lock"]


async def test_an_existing_readable_file_becomes_private_on_save(path: Path) -> None:
    path.write_text("{}")
    path.chmod(0o644)
    await FileStore(path=path, key="k").save(Token("t", "r", 1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b'{"k": {"access_token": "secret-token", ', "invalid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'["secret-token"]', "top level"),
        (b'{"k": "secret-token"}', "not an object"),
        (b"k: [secret-token]\n", "line 1"),
        (b"---\n  access_token: secret-token\n", "line 2"),
        (b"7: !ruby/object:Something::Else\n  access_token: secret-token\n", "line 1"),
    ],
)
async def test_corrupt_file_is_an_error_naming_the_path_and_is_never_overwritten(
    path: Path, content: bytes, detail: str
) -> None:
    path.write_bytes(content)
    store = FileStore(path=path, key="k")
    for operation in (store.fetch, lambda: store.save(Token("t", "r", 1)), store.delete):
        with pytest.raises(TokenStoreError) as info:
            await operation()
        assert str(path) in str(info.value)
        assert detail in str(info.value)
        assert "secret-token" not in str(info.value)
    assert path.read_bytes() == content


async def test_entry_that_is_not_a_token_is_an_error_naming_path_and_key(path: Path) -> None:
    path.write_text('{"k": {"access_token": 5}, "ok": {"access_token": "t"}}')
    with pytest.raises(TokenStoreError, match=r"tokens\.json, key 'k'.*access_token"):
        await FileStore(path=path, key="k").fetch()
    assert await FileStore(path=path, key="ok").fetch() == Token("t")


async def test_empty_file_is_an_empty_store(path: Path) -> None:
    path.write_text("\n")
    store = FileStore(path=path, key="k")
    assert await store.fetch() is None
    await store.save(Token("t", "r", 1))
    assert await store.fetch() == Token("t", "r", 1)


async def test_reads_the_gems_yaml_file(path: Path) -> None:
    path.write_text(GEM_YAML)
    assert await FileStore(path=path, key=7).fetch() == Token("a", "r", 1_700_000_000)
    assert await FileStore(path=path, key="other").fetch() == Token("a", "r", 1_700_000_000)
    assert await FileStore(path=path, key="missing").fetch() is None


async def test_format_json_converts_a_gem_file_keeping_every_entry(path: Path) -> None:
    path.write_text(GEM_YAML)
    await FileStore(path=path, key="new", format="json").save(Token("n", "nr", 5))
    entry = {"access_token": "a", "refresh_token": "r", "expires_at": 1_700_000_000}
    assert json.loads(path.read_text()) == {
        "7": entry,
        "other": entry,
        "new": {"access_token": "n", "refresh_token": "nr", "expires_at": 5},
    }


def test_an_unknown_format_is_a_value_error(path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        FileStore(path, format="toml")  # type: ignore[arg-type]


async def test_yaml_variants_psych_writes(path: Path) -> None:
    path.write_text(
        "--- # a comment\n"
        "'7': !ruby/object:Procore::Auth::Token\n"
        "  access_token: 'it''s'\n"
        "  refresh_token:\n"
        "  expires_at: 2023-11-14 17:13:20.123456789 -05:00\n"
        '"quoted": !ruby/object:Procore::Auth::Token\n'
        '  access_token: "a\\"b"\n'
        "  refresh_token: ~\n"
        "  unknown_ivar: ignored\n"
        "gone:\n"
    )
    assert await FileStore(path=path, key=7).fetch() == Token("it's", None, 1_700_000_000)
    assert await FileStore(path=path, key="quoted").fetch() == Token('a"b', None, None)
    assert await FileStore(path=path, key="gone").fetch() is None
    path.write_text("--- {}\n")
    assert await FileStore(path=path, key=7).fetch() is None


async def test_save_inside_lock_does_not_deadlock_and_others_wait(path: Path) -> None:
    holder, other = FileStore(path=path, key="a"), FileStore(path=path, key="b")
    events: list[str] = []

    async def other_save() -> None:
        await other.save(Token("b"))
        events.append("other saved")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg, holder.lock():
            tg.start_soon(other_save)
            await holder.save(Token("a"))  # re-entrant: no second flock
            await anyio.sleep(0.3)
            events.append("holder done")
    assert events == ["holder done", "other saved"]
    assert await holder.fetch() == Token("a")
    assert await other.fetch() == Token("b")


async def test_cancelled_waiter_leaves_at_once_and_never_takes_the_lock(path: Path) -> None:
    holder, waiter = FileStore(path=path, key="a"), FileStore(path=path, key="b")
    released = anyio.Event()

    async def hold() -> None:
        async with holder.lock():
            await released.wait()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(hold)
            await anyio.sleep(0.1)
            started = anyio.current_time()
            with anyio.move_on_after(0.2) as scope:
                await waiter.save(Token("b"))
            assert scope.cancelled_caught
            assert anyio.current_time() - started < 2  # not held until the release
            released.set()
        # The abandoned wait gets the flock after the release and drops it at once.
        await FileStore(path=path, key="c").save(Token("c"))
    assert await waiter.fetch() is None
    assert await FileStore(path=path, key="c").fetch() == Token("c")


async def test_two_processes_writing_different_keys_lose_nothing(path: Path) -> None:
    count = 200
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), str(path), prefix, str(count), "0"])
        for prefix in ("p0", "p1")
    ]
    try:
        codes = [await anyio.to_thread.run_sync(proc.wait, 120) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert codes == [0, 0]
    entries = json.loads(path.read_text())
    expected = {f"{prefix}-{n}" for prefix in ("p0", "p1") for n in range(count)}
    assert set(entries) == expected
    assert entries["p1-199"]["expires_at"] == 1_700_000_199


async def test_kill_9_during_writes_never_leaves_an_unreadable_file(path: Path) -> None:
    saved = 0
    for attempt in range(5):
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(path), f"k{attempt}", "-1", "4000"]
        )
        try:
            # Let it get going, then kill it at a point that varies between attempts.
            deadline = time.monotonic() + 30
            while not path.exists() or len(json.loads(path.read_text())) <= saved:
                assert time.monotonic() < deadline, "the writer never wrote"
                await anyio.sleep(0.02)
            await anyio.sleep(0.05 + 0.037 * attempt)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            await anyio.to_thread.run_sync(proc.wait)
        entries = json.loads(path.read_text())  # complete JSON, whatever the moment
        assert len(entries) > saved
        saved = len(entries)
        assert await FileStore(path=path, key=f"k{attempt}-0").fetch() is not None
    # The next save sweeps any temp file a killed writer left behind.
    await FileStore(path=path, key="after").save(Token("t"))
    assert sorted(p.name for p in path.parent.iterdir()) == ["tokens.json", "tokens.json.lock"]
    assert len(json.loads(path.read_text())) == saved + 1


async def test_repr_shows_path_and_key_never_the_token(path: Path) -> None:
    store = FileStore(path=path, key="user-1")
    await store.save(Token("secret-access", "secret-refresh", 1))
    assert repr(store) == f"FileStore(path={str(path)!r}, key='user-1')"


def test_path_expands_the_home_directory() -> None:
    assert FileStore(path="~/tokens.json").path == Path.home() / "tokens.json"
