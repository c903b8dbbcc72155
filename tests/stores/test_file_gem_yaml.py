"""FileStore and the Ruby gem sharing one file: a gem-written YAML file stays gem YAML.

The fixture is the file Ruby's ``YAML::Store`` writes; after a Python refresh it must
still be YAML with the gem's object tags, Ruby's Integer key 7 apart from String keys,
and ``expires_at`` as the integer epoch the gem writes.  It is checked with PyYAML
(taught the ``!ruby/object`` tag) as an independent reader, and by our own reader.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml

from procore_async.auth import Token
from procore_async.stores import FileStore
from procore_async.stores._gem_yaml import dump, parse

FIXTURE = Path(__file__).with_name("fixtures") / "gem_tokens.yml"
TAG = "!ruby/object:Procore::Auth::Token"


class RubyLoader(yaml.SafeLoader):
    """A safe loader that reads ``!ruby/object:...`` mappings the way Psych does."""


def _ruby_object(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    assert suffix == "Procore::Auth::Token"
    return {"__class__": suffix, **loader.construct_mapping(node)}  # type: ignore[arg-type]


RubyLoader.add_multi_constructor("!ruby/object:", _ruby_object)


def load_as_ruby(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=RubyLoader)


@pytest.fixture
def gem_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.yml"
    shutil.copy(FIXTURE, path)
    return path


async def test_a_python_refresh_keeps_the_gems_yaml(gem_file: Path) -> None:
    store = FileStore(gem_file, key=7)
    assert await store.fetch() == Token("a", "r", 1_700_000_000)
    await store.save(Token("new-access", "new-refresh", 1_800_000_000))  # as after a refresh

    text = gem_file.read_text()
    assert text.startswith("---\n")
    assert text.count(TAG) == 2
    data = load_as_ruby(gem_file)
    assert set(data) == {7, "other"}  # Ruby's Integer key stays an integer
    assert data[7] == {
        "__class__": "Procore::Auth::Token",
        "access_token": "new-access",
        "refresh_token": "new-refresh",
        "expires_at": 1_800_000_000,
    }
    # The other entry (a Ruby Time expiry) is untouched in meaning, as the gem reads it.
    assert data["other"]["access_token"] == "a"
    assert data["other"]["expires_at"] == 1_700_000_000
    assert isinstance(data["other"]["expires_at"], int)
    # And we read back what we wrote.
    assert await FileStore(gem_file, key=7).fetch() == Token(
        "new-access", "new-refresh", 1_800_000_000
    )
    assert await FileStore(gem_file, key="other").fetch() == Token("a", "r", 1_700_000_000)


async def test_a_string_key_is_written_as_a_string_and_a_new_key_is_added(gem_file: Path) -> None:
    await FileStore(gem_file, key="7").save(Token("via-string", None, 5))  # finds Ruby's 7
    await FileStore(gem_file, key=42).save(Token("forty-two", None, None))
    await FileStore(gem_file, key="user 9").save(Token("spaced", None, 1))
    data = load_as_ruby(gem_file)
    assert set(data) == {7, "other", 42, "user 9"}
    assert data[7]["access_token"] == "via-string"
    assert data[42]["refresh_token"] is None and data[42]["expires_at"] is None


async def test_deleting_every_entry_leaves_an_empty_yaml_store(gem_file: Path) -> None:
    await FileStore(gem_file, key=7).delete()
    await FileStore(gem_file, key="other").delete()
    assert gem_file.read_text() == "--- {}\n"
    assert load_as_ruby(gem_file) == {}
    await FileStore(gem_file, key=7).save(Token("back"))
    assert TAG in gem_file.read_text()


async def test_format_yaml_starts_a_new_file_the_gem_can_read(tmp_path: Path) -> None:
    path = tmp_path / "new.yml"
    await FileStore(path, key=3, format="yaml").save(Token("t", "r", 10))
    assert load_as_ruby(path) == {
        3: {"__class__": "Procore::Auth::Token", "access_token": "t", "refresh_token": "r",
            "expires_at": 10}
    }  # fmt: skip
    # format="auto" keeps it YAML afterwards.
    await FileStore(path, key=4).save(Token("u"))
    assert set(load_as_ruby(path)) == {3, 4}


@pytest.mark.parametrize(
    "secret",
    ["plain", "12345", "true", "null", "~", "a: b", "#x", "it's", 'q"uote', "tab\there",
     "line\nbreak", " lead", "trail ", "", "-dash", "1e5", "yes", "Ünïcode", ":sym"],
)  # fmt: skip
def test_every_string_reads_back_as_the_same_string(secret: str, tmp_path: Path) -> None:
    entries: dict[str | int, dict[str, Any]] = {
        secret or "k": {"access_token": secret, "refresh_token": secret, "expires_at": 1}
    }
    text = dump(entries)
    assert parse(text) == entries
    path = tmp_path / "t.yml"
    path.write_text(text)
    loaded = load_as_ruby(path)
    assert loaded[secret or "k"]["access_token"] == secret


async def test_the_filelock_backend_keeps_its_promises(tmp_path: Path) -> None:
    # The backend Windows uses (filelock), exercised here on Linux: locking,
    # re-entrant saves inside lock(), and a second store waiting its turn.
    path = tmp_path / "tokens.json"
    holder = FileStore(path, key="a", lock_backend="filelock")
    other = FileStore(path, key="b", lock_backend="filelock")
    events: list[str] = []

    async def other_save() -> None:
        await other.save(Token("b"))
        events.append("other saved")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group, holder.lock():
            group.start_soon(other_save)
            await holder.save(Token("a"))
            await anyio.sleep(0.3)
            events.append("holder done")
    assert events == ["holder done", "other saved"]
    assert await holder.fetch() == Token("a")
    assert await other.fetch() == Token("b")


async def test_a_cancelled_filelock_wait_never_keeps_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    holder = FileStore(path, key="a", lock_backend="filelock")
    waiter = FileStore(path, key="b", lock_backend="filelock")
    released = anyio.Event()

    async def hold() -> None:
        async with holder.lock():
            await released.wait()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(hold)
            await anyio.sleep(0.1)
            with anyio.move_on_after(0.2) as scope:
                await waiter.save(Token("b"))
            assert scope.cancelled_caught
            released.set()
        await FileStore(path, key="c", lock_backend="filelock").save(Token("c"))
    assert await waiter.fetch() is None
