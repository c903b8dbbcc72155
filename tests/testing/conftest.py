"""Fixtures for FakeProcore's own tests: a seeded fake, a clock, a raw httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from procore_async.testing import FakeProcore

BASE = "https://api.procore.test"


class Clock:
    """A hand-driven clock: tests move time instead of sleeping."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeProcore:
    return FakeProcore(seed=7, clock=clock)


@pytest.fixture
async def http(fake: FakeProcore) -> AsyncIterator[httpx.AsyncClient]:
    """A bare httpx client on the fake: every header and status is visible to the test."""
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as client:
        yield client


@pytest.fixture
def lenient(clock: Clock) -> FakeProcore:
    """The first release's kinder fake: any collection on any path."""
    return FakeProcore(seed=7, clock=clock, strict=False)


@pytest.fixture
async def lenient_http(lenient: FakeProcore) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=lenient.transport(), base_url=BASE) as client:
        yield client


def user_headers(fake: FakeProcore, company: int | None = None) -> dict[str, str]:
    """Bearer headers for a fresh user token, with ``Procore-Company-Id`` (default the first)."""
    token = fake.issue_token()
    headers = {"Authorization": f"Bearer {token.access_token}"}
    headers["Procore-Company-Id"] = str(fake.company_id if company is None else company)
    return headers


def app_form(fake: FakeProcore, **extra: str) -> dict[str, str]:
    return {"client_id": fake.client_id, "client_secret": fake.client_secret, **extra}
