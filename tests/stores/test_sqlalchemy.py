"""SQLAlchemyStore on a real SQLite file (aiosqlite): integer and datetime ``expires_at``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import anyio
import pytest
from sqlalchemy import DateTime, Integer, String, select, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from procore_async import TokenStoreError
from procore_async.auth import Token
from procore_async.stores import SQLAlchemyStore

EPOCH = 1_700_000_000
MOMENT = datetime(2023, 11, 14, 22, 13, 20)  # EPOCH, as a naive UTC datetime


class Base(DeclarativeBase):
    pass


class User(Base):
    """The gem's test schema: ``expires_at INTEGER``."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    access_token: Mapped[str | None] = mapped_column(String(255))
    refresh_token: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[int | None] = mapped_column(Integer)


class Account(Base):
    """A Rails-style ``datetime`` column."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    access_token: Mapped[str | None] = mapped_column(String(255))
    refresh_token: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)


class Legacy(Base):
    """A text column, where anything can end up."""

    __tablename__ = "legacy"
    id: Mapped[int] = mapped_column(primary_key=True)
    access_token: Mapped[str | None] = mapped_column(String(255))
    refresh_token: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[str | None] = mapped_column(String(64))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'app.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with async_sessionmaker(engine)() as session:
        yield session


async def add(session: AsyncSession, row: Base) -> None:
    session.add(row)
    await session.commit()


@pytest.mark.parametrize(("model", "stored"), [(User, EPOCH), (Account, MOMENT)])
async def test_store_and_fetch_token(
    engine: AsyncEngine, session: AsyncSession, model: type[User | Account], stored: object
) -> None:
    row = model(id=1)
    await add(session, row)
    store = SQLAlchemyStore(session=session, obj=row)
    assert await store.fetch() is None
    await store.save(Token("new token", "new refresh", EPOCH))
    assert await store.fetch() == Token("new token", "new refresh", EPOCH)
    # Committed: a fresh session sees the columns, in the column's own type.
    async with async_sessionmaker(engine)() as other:
        fresh = (await other.execute(select(model))).scalar_one()
        assert (fresh.access_token, fresh.refresh_token) == ("new token", "new refresh")
        assert fresh.expires_at == stored


@pytest.mark.parametrize("model", [User, Account])
async def test_store_delete(
    engine: AsyncEngine, session: AsyncSession, model: type[User | Account]
) -> None:
    row = model(id=1, access_token="t", refresh_token="r")
    await add(session, row)
    store = SQLAlchemyStore(session=session, obj=row)
    await store.save(Token("t", "r", EPOCH))
    await store.delete()
    assert await store.fetch() is None
    async with async_sessionmaker(engine)() as other:
        fresh = (await other.execute(select(model))).scalar_one()
        assert (fresh.access_token, fresh.refresh_token, fresh.expires_at) == (None, None, None)


@pytest.mark.parametrize(
    ("model", "value"),
    [(User, EPOCH), (Account, "2023-11-14 22:13:20.000000"), (Legacy, "2023-11-14T22:13:20.000Z")],
)
async def test_sees_what_another_process_wrote(
    engine: AsyncEngine, session: AsyncSession, model: type[User | Account | Legacy], value: object
) -> None:
    row = model(id=1, access_token="old", refresh_token="old")
    await add(session, row)
    store = SQLAlchemyStore(session=session, obj=row)
    # Another process (or the gem's ActiveRecord) refreshed the token in the row.
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f"UPDATE {model.__tablename__} SET access_token='new', refresh_token='r', "
                "expires_at=:value"
            ),
            {"value": value},
        )
    assert await store.fetch() == Token("new", "r", EPOCH)


async def test_timezone_aware_column_gets_an_aware_utc_datetime(tmp_path: Path) -> None:
    class AwareBase(DeclarativeBase):
        pass

    class Aware(AwareBase):
        __tablename__ = "aware"
        id: Mapped[int] = mapped_column(primary_key=True)
        access_token: Mapped[str | None] = mapped_column(String(255))
        refresh_token: Mapped[str | None] = mapped_column(String(255))
        expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'aware.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(AwareBase.metadata.create_all)
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            row = Aware(id=1)
            await add(session, row)
            store = SQLAlchemyStore(session=session, obj=row)
            await store.save(Token("t", "r", EPOCH))
            assert row.expires_at == datetime.fromtimestamp(EPOCH, timezone.utc)
            assert await store.fetch() == Token("t", "r", EPOCH)
    finally:
        await engine.dispose()


async def test_corrupt_expires_at_is_a_clear_error(session: AsyncSession) -> None:
    row = Legacy(id=7, access_token="t", expires_at="next tuesday")
    await add(session, row)
    with pytest.raises(TokenStoreError, match=r"SQLAlchemyStore\(obj=Legacy 7\).*expires_at"):
        await SQLAlchemyStore(session=session, obj=row).fetch()


async def test_a_deleted_row_is_a_clear_error(engine: AsyncEngine, session: AsyncSession) -> None:
    row = User(id=3, access_token="t")
    await add(session, row)
    store = SQLAlchemyStore(session=session, obj=row)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM users"))
    with pytest.raises(TokenStoreError, match="cannot be reloaded"):
        await store.fetch()


async def test_concurrent_use_is_serialised(session: AsyncSession) -> None:
    # An AsyncSession used by several tasks at once fails (IllegalStateChangeError).
    row = User(id=1)
    await add(session, row)
    store = SQLAlchemyStore(session=session, obj=row)
    await store.save(Token("t0", "r", 0))
    fetched: list[Token | None] = []

    async def fetch() -> None:
        fetched.append(await store.fetch())

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            for i in range(1, 41):
                tg.start_soon(fetch)
                tg.start_soon(store.save, Token(f"t{i}", "r", i))
    assert len(fetched) == 40
    assert all(t is not None and t.access_token == f"t{t.expires_at}" for t in fetched)
    final = await store.fetch()
    assert final is not None
    assert final.access_token == f"t{final.expires_at}"


def test_needs_a_mapped_object_with_the_three_attributes() -> None:
    with pytest.raises(TypeError, match="mapped object"):
        SQLAlchemyStore(session=None, obj=object())  # type: ignore[arg-type]

    class NoTokenBase(DeclarativeBase):
        pass

    class Plain(NoTokenBase):
        __tablename__ = "plain"
        id: Mapped[int] = mapped_column(primary_key=True)
        access_token: Mapped[str | None] = mapped_column(String(255))

    with pytest.raises(TypeError, match="no mapped refresh_token, expires_at"):
        SQLAlchemyStore(session=None, obj=Plain(id=1))  # type: ignore[arg-type]


async def test_repr_names_the_row_never_the_token(session: AsyncSession) -> None:
    row = User(id=42, access_token="secret")
    store = SQLAlchemyStore(session=session, obj=row)
    assert repr(store) == "SQLAlchemyStore(obj=User unsaved)"
    await add(session, row)
    assert repr(store) == "SQLAlchemyStore(obj=User 42)"
