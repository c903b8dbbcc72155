"""MemcachedStore against a real memcached: the gem's Dalli store tests, interop, the lock."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from procore_async import TokenStoreError
from procore_async.auth import Token
from procore_async.stores import LockingTokenStore, MemcachedStore

GEM_JSON = b'{"access_token":"a","refresh_token":"r","expires_at":"2023-11-14T22:13:20.000Z"}'


def ruby_marshal_string(data: bytes) -> bytes:
    """``Marshal.dump(string)`` for a UTF-8 Ruby String, as Dalli stores it by default."""
    assert 123 <= len(data) < 65536  # Marshal's two-byte length form
    return b'\x04\x08I"\x02' + len(data).to_bytes(2, "little") + data + b"\x06:\x06ET"


def dalli_set(key: bytes, value: bytes, flags: int) -> bytes:
    return b"set %s %d 0 %d\r\n%s\r\n" % (key, flags, len(value), value)


async def test_store_overwrite_delete(memcached_client: Any) -> None:
    store = MemcachedStore(client=memcached_client, key="key")
    assert await store.fetch() is None
    await store.save(Token("token", "refresh", 55))
    assert await store.fetch() == Token("token", "refresh", 55)
    await store.save(Token("new token", "new refresh", 56))
    assert await store.fetch() == Token("new token", "new refresh", 56)
    await store.delete()
    assert await store.fetch() is None


async def test_writes_the_gems_key_as_plain_json(
    memcached_client: Any, memcached_raw: Callable[[bytes], bytes]
) -> None:
    await MemcachedStore(client=memcached_client, key=42).save(Token("a", "r", 1_700_000_000))
    reply = memcached_raw(b"get procore-dalli-42\r\n")
    header, value, _ = reply.split(b"\r\n", 2)
    # Flags 0: Dalli hands the bytes over as the JSON string the gem parses.
    assert header.split()[:3] == [b"VALUE", b"procore-dalli-42", b"0"]
    assert json.loads(value) == {
        "access_token": "a",
        "refresh_token": "r",
        "expires_at": 1700000000,
    }


async def test_reads_what_a_raw_dalli_wrote(
    memcached_client: Any, memcached_raw: Callable[[bytes], bytes]
) -> None:
    # Dalli::Client.new(..., raw: true).set("procore-dalli-key", token.to_json)
    assert memcached_raw(dalli_set(b"procore-dalli-key", GEM_JSON, 0)) == b"STORED\r\n"
    store = MemcachedStore(client=memcached_client, key="key")
    assert await store.fetch() == Token("a", "r", 1_700_000_000)


async def test_reads_what_a_default_dalli_wrote_through_a_flag_client(
    memcached_server: Any, memcached_client: Any, memcached_raw: Callable[[bytes], bytes]
) -> None:
    import aiomcache

    # A default Dalli::Client Marshal-dumps the JSON string and sets flag 1.
    value = ruby_marshal_string(GEM_JSON + b" " * 60)
    assert memcached_raw(dalli_set(b"procore-dalli-key", value, 1)) == b"STORED\r\n"
    with pytest.raises(TokenStoreError, match="FlagClient"):
        await MemcachedStore(client=memcached_client, key="key").fetch()
    client = aiomcache.FlagClient(
        memcached_server.host, memcached_server.port, get_flag_handler=MemcachedStore.flagged_value
    )
    try:
        store = MemcachedStore(client=client, key="key")
        assert await store.fetch() == Token("a", "r", 1_700_000_000)
    finally:
        await client.close()


@pytest.mark.parametrize(
    "value",
    [b"#<Procore::Auth::Token:0x000055d5>", b'{"access_token": 7}', b"\x04\x08[\x00", b'\x04\x08"'],
)
async def test_corrupt_value_is_a_clear_error(
    memcached_client: Any, memcached_raw: Callable[[bytes], bytes], value: bytes
) -> None:
    memcached_raw(dalli_set(b"procore-dalli-key", value, 0))
    with pytest.raises(TokenStoreError, match="memcached key 'procore-dalli-key'"):
        await MemcachedStore(client=memcached_client, key="key").fetch()


async def test_lock_is_exclusive(memcached_client: Any) -> None:
    stores = [MemcachedStore(client=memcached_client, key="key") for _ in range(2)]
    assert isinstance(stores[0], LockingTokenStore)
    inside = most = 0

    async def critical(store: MemcachedStore) -> None:
        nonlocal inside, most
        async with store.lock():
            inside += 1
            most = max(most, inside)
            await anyio.sleep(0.03)
            inside -= 1

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for i in range(6):
                tg.start_soon(critical, stores[i % 2])
    assert most == 1
    assert await memcached_client.get(b"procore-dalli-key:lock") is None


async def test_lock_gives_up_after_the_blocking_timeout(memcached_client: Any) -> None:
    holder = MemcachedStore(client=memcached_client, key="key")
    waiter = MemcachedStore(client=memcached_client, key="key", lock_blocking_timeout=0.2)
    with anyio.fail_after(10):
        async with holder.lock():
            with pytest.raises(TokenStoreError, match=r"procore-dalli-key:lock.*0\.2s"):
                async with waiter.lock():
                    pytest.fail("the lock was taken twice")


async def test_a_crashed_holders_lock_expires(memcached_client: Any) -> None:
    # A holder that died without releasing: its add() expiry frees the lock.
    assert await memcached_client.add(b"procore-dalli-key:lock", b"dead", exptime=2)
    impatient = MemcachedStore(client=memcached_client, key="key", lock_blocking_timeout=0)
    with pytest.raises(TokenStoreError):
        async with impatient.lock():
            pytest.fail("took a lock that someone holds")
    with anyio.fail_after(10):
        async with MemcachedStore(client=memcached_client, key="key").lock():
            assert await memcached_client.get(b"procore-dalli-key:lock") != b"dead"


async def test_release_leaves_a_lock_that_is_no_longer_ours(memcached_client: Any) -> None:
    store = MemcachedStore(client=memcached_client, key="key")
    async with store.lock():
        # Ours expired and someone else took it.
        await memcached_client.set(b"procore-dalli-key:lock", b"someone else", exptime=30)
    assert await memcached_client.get(b"procore-dalli-key:lock") == b"someone else"


def test_repr_names_the_key_never_the_token() -> None:
    store = MemcachedStore(client=object(), key=42)  # type: ignore[arg-type]
    assert repr(store) == "MemcachedStore(key='procore-dalli-42')"
