"""The workflows on a real ``temporal server start-dev``, with a worker in this process.

FakeProcore runs in process behind a small ASGI wrapper that can answer a sync with
a 429 or an error, so each test sees exactly what Temporal did with it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Replayer

from procore_async import AsyncClient, Config
from procore_async.contrib.temporal import (
    ExportScope,
    ExportSpec,
    ExportWorkflow,
    ImportSpec,
    ImportWorkflow,
    create_worker,
    start_export,
    start_import,
)
from procore_async.testing import FAKE_HOST, FAKE_LOGIN_HOST, FakeProcore

pytestmark = pytest.mark.slow


class Gate:
    """Wraps the fake: ``answer(n)`` returns a (status, headers) to send for the n-th sync."""

    def __init__(self, fake: FakeProcore, answer: Callable[[int], tuple[int, list] | None]):
        self.fake = fake
        self.answer = answer
        self.syncs: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/sync"):
            self.syncs.append(time.monotonic())
            verdict = self.answer(len(self.syncs))
            if verdict is not None:
                status, headers = verdict
                body = json.dumps({"errors": f"refused with {status}"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [(b"content-type", b"application/json"), *headers],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.fake(scope, receive, send)


def _client(app: Any, fake: FakeProcore) -> AsyncClient:
    # No client-side retries: what happens next is Temporal's doing.
    config = Config(host=FAKE_HOST, login_host=FAKE_LOGIN_HOST, max_retries=0)
    return AsyncClient(
        fake.client_id, fake.client_secret, config=config, grant_type="client_credentials",
        transport=httpx.ASGITransport(app=app),
    )  # fmt: skip


def _rows(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(json.dumps({"origin_id": f"v-{i}", "name": f"Vendor {i}"}) + "\n")
    return path


@pytest.fixture
async def worker_for(
    temporal: Any, task_queue: str
) -> AsyncIterator[Callable[[Any, FakeProcore], Any]]:
    """Start a worker (in this process) on the test's queue, for a given app."""
    started: list[Any] = []

    async def start(app: Any, fake: FakeProcore) -> Any:
        client = _client(app, fake)
        worker = create_worker(temporal, client, task_queue=task_queue)
        await worker.__aenter__()
        started.append((worker, client))
        return worker

    yield start
    for worker, client in started:
        await worker.__aexit__(None, None, None)
        await client.aclose()


def _spec(fake: FakeProcore, path: Path, **fields: Any) -> ImportSpec:
    base = ImportSpec(
        path="vendors/sync", location=str(path), company_id=fake.company_id,
        body={"company_id": fake.company_id}, shard_size=200, batch_size=100,
        concurrency=1, heartbeat_timeout=10,
    )  # fmt: skip
    return dataclasses.replace(base, **fields)


async def test_a_rate_limit_error_is_retried_after_its_wait(
    temporal: Any, task_queue: str, worker_for: Any, tmp_path: Path
) -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    gate = Gate(fake, lambda n: (429, [(b"retry-after", b"2")]) if n == 1 else None)
    await worker_for(gate, fake)
    spec = _spec(fake, _rows(tmp_path / "in.jsonl", 200))
    handle = await start_import(temporal, spec, task_queue=task_queue)
    report = await handle.result()
    await Replayer(workflows=[ImportWorkflow]).replay_workflow(await handle.fetch_history())
    assert (report.total, report.created, report.failed) == (200, 200, 0)
    assert report.retried_shards == 1
    # The second attempt came after the 429's Retry-After, not after Temporal's 1 s backoff.
    assert gate.syncs[1] - gate.syncs[0] >= 1.9
    assert len(fake.records(fake.company_id, "vendors")) == 200


async def test_an_invalid_request_is_not_retried(
    temporal: Any, task_queue: str, worker_for: Any, tmp_path: Path
) -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    gate = Gate(fake, lambda n: (422, []) if n == 1 else None)
    await worker_for(gate, fake)
    spec = _spec(fake, _rows(tmp_path / "in.jsonl", 200))
    report = await (await start_import(temporal, spec, task_queue=task_queue)).result()
    # The refused batch is reported failed, with the reason, and never sent again.
    assert (report.created, report.failed, report.retried_shards) == (100, 100, 0)
    assert len(gate.syncs) == 2
    assert report.failures[0].row == 1
    assert report.failures[0].reason.startswith("UnprocessableEntityError: 422")
    assert report.accounted == report.total == 200


async def test_a_forbidden_shard_fails_once_and_is_accounted_for(
    temporal: Any, task_queue: str, worker_for: Any, tmp_path: Path
) -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    gate = Gate(fake, lambda n: (403, []) if n == 2 else None)
    await worker_for(gate, fake)
    spec = _spec(fake, _rows(tmp_path / "in.jsonl", 200), max_parallel=1)
    report = await (await start_import(temporal, spec, task_queue=task_queue)).result()
    # Shard 0: batch 1 went through, batch 2 got 403: no retry, the rest counted failed.
    assert len(gate.syncs) == 2
    assert (report.created, report.failed, report.accounted) == (100, 100, 200)
    assert report.failures[0].row == 101
    assert "ForbiddenError" in report.failures[0].reason


async def test_an_unkeyed_import_is_refused_before_any_request(
    temporal: Any, task_queue: str, worker_for: Any, tmp_path: Path
) -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    gate = Gate(fake, lambda n: None)
    await worker_for(gate, fake)
    path = tmp_path / "in.jsonl"
    path.write_text('{"origin_id": "a", "name": "A"}\n{"name": "B"}\n', encoding="utf-8")
    handle = await start_import(temporal, _spec(fake, path), task_queue=task_queue)
    with pytest.raises(WorkflowFailureError) as caught:
        await handle.result()
    cause = caught.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == "UnkeyedImportError"
    assert "row 2" in cause.cause.message
    assert gate.syncs == [] and fake.stats.requests == 0


async def test_an_export_across_projects_writes_every_item_once(
    temporal: Any, task_queue: str, worker_for: Any, tmp_path: Path
) -> None:
    fake = FakeProcore(rate_limit=None, projects=8)
    company = fake.company_id
    projects = [p["id"] for p in fake.records(company, "projects")]
    expected: set[int] = set()
    for project in projects:
        made = fake.add_records(company, "rfis", 2500, project_id=project, subject="s")
        expected.update(r["id"] for r in made)
    await worker_for(fake, fake)
    spec = ExportSpec(
        path="projects/{project_id}/rfis", out_dir=str(tmp_path / "out"),
        scopes=[ExportScope(company, p) for p in projects], per_page=500, pages_per_part=2,
    )  # fmt: skip
    handle = await start_export(temporal, spec, task_queue=task_queue)
    report = await handle.result()
    ids = [
        json.loads(line)["id"]
        for file in report.files
        for line in Path(file).read_text(encoding="utf-8").splitlines()
    ]
    assert len(ids) == len(expected) == 20_000
    assert set(ids) == expected
    assert report.items == report.expected == 20_000
    assert report.parts == 8 * 3  # 5 pages per project, 2 pages per part
    assert set(report.by_scope.values()) == {2500}
    assert not list((tmp_path / "out").glob("*.partial"))
    # The workflow code is deterministic: its history replays without a mismatch.
    history = await handle.fetch_history()
    await Replayer(workflows=[ImportWorkflow, ExportWorkflow]).replay_workflow(history)
