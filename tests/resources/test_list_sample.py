"""Every generated list method of a broad sample, called once against FakeProcore.

The sample is every list operation (``ItemIterator`` methods) whose only required
arguments are ``company_id`` and ``project_id`` and whose path the fake of this
branch can serve: ``companies/{company_id}/...``, ``projects/{project_id}/...``
and top-level paths scoped by the ``Procore-Company-Id`` header or a
``project_id`` query parameter (v2 paths only under ``companies/{company_id}``).
Each collection is seeded with one record first, so each call must come back
with that record: the request went to the right version, path and scope, and
the pagination produced typed items.  Once FakeProcore is strict (it answers
every catalog list operation), the same sample runs against it unchanged.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from procore_async.resources import NAMESPACES, Api
from procore_async.testing import FakeProcore

_HTTP = re.compile(r"``GET\s+/rest/(v\d+\.\d+)/(\S+)``")
_SCOPES = {"company_id", "project_id"}


@dataclass(frozen=True)
class ListOp:
    namespace: str
    method: str
    version: str
    path: str  # after /rest/<version>/, with {company_id}/{project_id}
    params: frozenset[str]  # required keyword arguments

    def collection(self, company: int, project: int) -> str | None:
        """The fake's collection this call lists, or None when the fake cannot serve it."""
        path = self.path.replace("{project_id}", str(project))
        segments = path.split("/")
        if segments[:2] == ["companies", "{company_id}"]:
            segments = segments[2:]
        elif self.version.startswith("v2") or "{" in path:
            return None
        elif "project_id" in self.params and segments[0] != "projects":
            segments = ["projects", str(project), *segments]
        if not segments or segments[-1] in ("me", "companies") or "{" in "/".join(segments):
            return None
        if "webhooks" in segments:
            return None  # the fake serves hooks from its webhook store (#15), not a collection
        return "/".join(segments)


def list_operations() -> Iterator[ListOp]:
    import importlib

    for namespace in NAMESPACES:
        module = importlib.import_module(f"procore_async.resources.{namespace}")
        resource = next(
            v for k, v in vars(module).items() if k.endswith("Resource") and k != "Resource"
        )
        for name, function in sorted(vars(resource).items()):
            if not callable(function) or name.startswith("_"):
                continue
            signature = inspect.signature(function)
            if not str(signature.return_annotation).startswith("ItemIterator"):
                continue
            found = _HTTP.search(function.__doc__ or "")
            assert found is not None, f"{namespace}.{name} documents its HTTP call"
            required = frozenset(
                p.name
                for p in signature.parameters.values()
                if p.default is inspect.Parameter.empty and p.name != "self"
            )
            yield ListOp(namespace, name, found.group(1), found.group(2), required)


def sample() -> list[ListOp]:
    ops = [op for op in list_operations() if op.params <= _SCOPES and op.collection(1, 2)]
    return ops


SAMPLE = sample()


def test_the_sample_is_broad() -> None:
    assert len(SAMPLE) >= 100
    assert len({op.namespace for op in SAMPLE}) >= 60
    assert {op.version for op in SAMPLE} >= {"v1.0", "v1.1", "v2.0"}


async def test_every_sampled_list_method_returns_its_typed_items() -> None:
    fake = FakeProcore(seed=3, projects=2)
    company = fake.company_id
    async with fake.client() as client:
        project = (
            await client.get("projects", query={"company_id": company}, company_id=company)
        ).body[0]["id"]
        api: Api = client.api
        failures: list[str] = []
        for op in SAMPLE:
            collection = op.collection(company, project)
            assert collection is not None
            seeded = fake.add_records(company, collection, 1, name=f"{op.namespace}.{op.method}")
            arguments: dict[str, Any] = {"company_id": company}
            if "project_id" in op.params:
                arguments["project_id"] = project
            method = getattr(getattr(api, op.namespace), op.method)
            items = [item async for item in method(**arguments, max_items=50)]
            # v2 answers string ids; two versions of one list share a collection.
            ids = {str(item["id"]) for item in items if isinstance(item, dict)}
            if str(seeded[0]["id"]) not in ids or len(ids) != len(items):
                failures.append(f"{op.namespace}.{op.method} ({op.version} {op.path}): {items!r}")
        assert not failures, "\n".join(failures[:10])
        assert fake.stats.requests >= len(SAMPLE)


@pytest.mark.parametrize("namespace", ["rfis", "projects", "company_users", "submittals"])
def test_the_common_resources_are_in_the_sample_space(namespace: str) -> None:
    assert namespace in NAMESPACES
    assert any(op.namespace == namespace for op in list_operations())
