"""The ready OpenTelemetry hook: a CLIENT span per attempt, no secrets in it."""

from __future__ import annotations

import importlib
import os
import time

import httpx
import pytest

from procore_async import AsyncClient, Config, ServerError, Token
from procore_async.stores import MemoryStore

if os.environ.get("CI") == "true":  # CI installs the test extra: a missing SDK is a failure
    importlib.import_module("opentelemetry.sdk")
else:
    pytest.importorskip("opentelemetry.sdk", reason="the test extra installs opentelemetry-sdk")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from procore_async.otel import instrument


async def test_every_attempt_is_a_client_span_and_a_retry_a_child_of_the_failed_one():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    answers = iter([503, 200, 500])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), json={}, headers={"X-Request-Id": "req-1"})

    store = MemoryStore()
    await store.save(Token("sekrit-token", "r", time.time() + 3600))
    config = Config(retry_backoff=0.001, max_retries=1)
    async with AsyncClient("id", "s", store, config=config,
                           transport=httpx.MockTransport(handler)) as client:  # fmt: skip
        instrument(client, tracer_provider=provider)
        await client.get("me", query={"access_token": "q-secret"})
        with pytest.raises(ServerError):
            await client.post("vendors", body={"name": "x"})
    spans = exporter.get_finished_spans()
    attempts = [s for s in spans if s.name != "retry"]
    assert [s.name for s in attempts] == ["GET procore.api", "GET procore.api", "POST procore.api"]
    assert [s.attributes["http.response.status_code"] for s in attempts] == [503, 200, 500]
    assert [s.attributes["http.request.resend_count"] for s in attempts] == [0, 1, 0]
    assert attempts[0].attributes["error.type"] == "ServerError"
    assert "error.type" not in attempts[1].attributes
    assert attempts[0].attributes["url.full"] == "https://api.procore.com/rest/v1.0/me"
    assert attempts[0].attributes["procore.request_id"] == "req-1"
    (retry,) = [s for s in spans if s.name == "retry"]
    assert retry.parent is not None and retry.parent.span_id == attempts[0].context.span_id
    text = repr([dict(s.attributes or {}) for s in spans])
    assert "sekrit-token" not in text and "q-secret" not in text
