"""Fixtures for the webhook tests: the real redis-server of the store tests, payloads."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location(
    "_stores_conftest", Path(__file__).parent.parent / "stores" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_stores = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _stores
_spec.loader.exec_module(_stores)

#: The session's redis-server on a free port (fails in CI when missing, skips locally).
redis_server = _stores.redis_server
free_port = _stores.free_port

SECRET = "Bearer wh-test-secret-12345"


def v2_payload(event_id: int = 123456789, **changes: Any) -> dict[str, Any]:
    """Procore's documented v2.0 example (plan_your_app/webhooks.md)."""
    payload: dict[str, Any] = {
        "id": event_id,
        "ulid": "0A1B2C3D4F5G6H7I8J9K0LMN",
        "timestamp": "2025-02-06T23:34:12.246562Z",
        "metadata": {
            "source_user_id": 987654321,
            "source_project_id": 2468013579,
            "source_operation_id": None,
            "source_company_id": 1357908642,
            "source_application_id": None,
        },
        "user_id": 987654321,
        "company_id": 1357908642,
        "project_id": 2468013579,
        "api_version": "v2.0",
        "event_type": "update",
        "resource_name": "RFIs",
        "resource_id": 54321,
    }
    payload.update(changes)
    return payload


def v4_payload(event_id: str = "01JMYXMZRBVKK0PC6XS8SA4QRE", **changes: Any) -> dict[str, Any]:
    """Procore's documented v4.0 example."""
    payload: dict[str, Any] = {
        "id": event_id,
        "timestamp": "2025-02-25T16:04:43.619085Z",
        "reason": "update",
        "company_id": "8",
        "project_id": "6778",
        "user_id": "5447",
        "resource_type": "Direct Cost Line Items",
        "resource_id": "379913",
    }
    payload.update(changes)
    return payload


@pytest.fixture
async def redis_client(redis_server: Any) -> AsyncIterator[Any]:
    from redis.asyncio import Redis

    client = Redis(host=redis_server.host, port=redis_server.port)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()
