"""The strict fake plays by Procore's catalog: one test per rule it enforces."""

from __future__ import annotations

import httpx
import pytest

from procore_async.testing import FakeProcore
from procore_async.testing._call import Call
from procore_async.testing._catalog import Operation, catalog
from procore_async.testing._http import Reply, json_reply

from .conftest import BASE, Clock, user_headers

SYNC_OPS = sorted((op for op in catalog() if op.kind == "sync"), key=lambda o: o.path)
LIST_OPS = sorted((op for op in catalog() if op.kind == "list"), key=lambda o: o.path)


def concrete(fake: FakeProcore, op: Operation) -> tuple[str, dict[str, str]]:
    """A path for ``op`` whose every parent record exists, and the query it needs."""
    project = int(fake.records(fake.company_id, "projects")[0]["id"])
    parts: list[str] = []
    key: list[str] = []
    in_project = op.needs_project  # a project_id query or body parameter scopes it
    for index, segment in enumerate(op.segments):
        if segment == "{company_id}":
            parts.append(str(fake.company_id))
            key.pop()  # "companies" is scope, not a collection
        elif segment == "{project_id}" and index + 1 < len(op.segments):
            parts.append(str(project))
            key = key[:-1]
            in_project = True
        elif segment.startswith("{"):
            if index + 1 == len(op.segments):
                parts.append("1")  # a member: need not exist for a list or sync test
                continue
            if not key:
                key.append("things")
            made = fake.add_records(
                fake.company_id, "/".join(key), project_id=project if in_project else None
            )
            parts.append(str(made[0]["id"]))
            key.append(str(made[0]["id"]))
        else:
            parts.append(segment)
            key.append(segment)
    query = {}
    if op.needs_company:
        query["company_id"] = str(fake.company_id)
    if op.needs_project:
        query["project_id"] = str(project)
    return f"/rest/{op.version}/{'/'.join(parts)}", query


async def test_catalog_is_packaged_with_its_documented_counts() -> None:
    ops = list(catalog())
    assert len(ops) == 2638  # 2,632 REST operations of the catalog + 6 v2.1 unified uploads
    assert len(SYNC_OPS) == 33
    idempotent = sorted(f"{op.method} {op.path}" for op in ops if op.idempotent)
    assert len(idempotent) == 5
    assert not any(op.sync for op in ops if op.idempotent)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/rest/v1.0/nothing_like_this"),  # unknown path
        ("GET", "/rest/v1.0/companies/8089/vendors"),  # not a catalog path
        ("PATCH", "/rest/v1.0/companies/8089/vendors/sync"),  # sync where Procore has none
        ("DELETE", "/rest/v1.0/vendors/1?company_id=8089"),  # known path, unknown method
        ("GET", "/rest/v1.1/vendors?company_id=8089"),  # known path, unknown version
    ],
)
async def test_only_catalog_operations_answer(
    http: httpx.AsyncClient, fake: FakeProcore, method: str, path: str
) -> None:
    response = await http.request(method, path, headers=user_headers(fake), json={})
    assert (response.status_code, response.json()) == (404, {"errors": "Not Found"})


async def test_lenient_fake_still_answers_any_collection(
    lenient_http: httpx.AsyncClient, lenient: FakeProcore
) -> None:
    url = f"/rest/v1.0/companies/{lenient.company_id}/vendors"
    response = await lenient_http.get(url, headers=user_headers(lenient))
    assert (response.status_code, response.json()) == (200, [])


async def test_unknown_v2_operation_is_a_v2_404(http: httpx.AsyncClient, fake: FakeProcore) -> None:
    url = f"/rest/v2.0/companies/{fake.company_id}/nothing_like_this"
    response = await http.get(url, headers=user_headers(fake))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("op", SYNC_OPS, ids=lambda op: f"{op.method} {op.path}")
async def test_every_catalog_sync_operation_upserts(
    http: httpx.AsyncClient, fake: FakeProcore, op: Operation
) -> None:
    path, query = concrete(fake, op)
    body = {**query, "updates": [{"origin_id": "a", "name": "A"}, {"name": "B"}]}
    response = await http.request(op.method, path, headers=user_headers(fake), json=body)
    assert response.status_code == 200, response.text
    assert [e["name"] for e in response.json()["entities"]] == ["A", "B"]
    again = await http.request(op.method, path, headers=user_headers(fake), json=body)
    assert again.json()["entities"][0]["id"] == response.json()["entities"][0]["id"]


async def test_sync_needs_the_company_id_the_catalog_requires(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = user_headers(fake)
    missing = await http.patch("/rest/v1.0/vendors/sync", headers=headers, json={"updates": []})
    assert missing.status_code == 400
    assert "company_id" in missing.json()["errors"]
    body = {"company_id": fake.company_id, "updates": [{"name": "V"}]}
    ok = await http.patch("/rest/v1.0/vendors/sync", headers=headers, json=body)
    assert ok.status_code == 200


async def test_every_catalog_list_operation_answers_a_scoped_collection(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = user_headers(fake)
    for op in LIST_OPS:
        if op.path in ("/rest/v1.0/companies",):
            continue
        if "/webhooks/hooks/{" in op.path:
            continue  # a hook's lists need a hook of the webhook store (tests/webhooks)
        path, query = concrete(fake, op)
        response = await http.get(path, headers=headers, params={**query, "per_page": "2"})
        assert response.status_code == 200, (op.path, response.text)
        body = response.json()
        items = body["data"] if op.envelope else body
        assert isinstance(items, list), op.path
        if op.paginated:
            assert response.headers["per-page"] == "2", op.path
            assert len(items) == min(2, int(response.headers["total"])), op.path
        else:
            assert response.headers["total"] == str(len(items)), op.path


async def test_a_list_operation_pages_and_scopes_its_records(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    projects = fake.records(fake.company_id, "projects")
    first, second = projects[0]["id"], projects[1]["id"]
    fake.add_records(fake.company_id, "rfis", 5, project_id=first)
    fake.add_records(fake.company_id, "rfis", 2, project_id=second)
    headers = user_headers(fake)
    page = await http.get(f"/rest/v1.0/projects/{first}/rfis?per_page=2", headers=headers)
    assert (page.headers["total"], page.headers["per-page"], len(page.json())) == ("5", "2", 2)
    assert 'rel="next"' in page.headers["link"]
    other = await http.get(f"/rest/v1.0/projects/{second}/rfis", headers=headers)
    assert other.headers["total"] == "2"


async def test_v2_envelope_only_where_the_catalog_says(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    project = fake.records(fake.company_id, "projects")[0]["id"]
    fake.add_records(fake.company_id, "coordination_issues", 1, project_id=project)
    fake.add_records(fake.company_id, "commitment_contracts", 1, project_id=project)
    base = f"/rest/v2.0/companies/{fake.company_id}/projects/{project}"
    bare = await http.get(f"{base}/coordination_issues", headers=user_headers(fake))
    wrapped = await http.get(f"{base}/commitment_contracts", headers=user_headers(fake))
    assert isinstance(bare.json(), list) and isinstance(bare.json()[0]["id"], str)
    assert isinstance(wrapped.json()["data"][0]["id"], str)


async def test_idempotency_token_is_ignored_where_the_catalog_does_not_declare_it(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = {**user_headers(fake), "Idempotency-Token": "same"}
    url = f"/rest/v1.0/vendors?company_id={fake.company_id}"
    first = await http.post(url, headers=headers, json={"vendor": {"name": "Twice"}})
    again = await http.post(url, headers=headers, json={"vendor": {"name": "Twice"}})
    assert (first.status_code, again.status_code) == (201, 201)
    assert len(fake.records(fake.company_id, "vendors")) == 2
    assert fake.stats.replays == 0


async def test_unkeyed_sync_batch_whose_reply_was_lost_duplicates_when_replayed(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    """At the HTTP level, no library retry: what a blind resend does against Procore."""
    headers = {**user_headers(fake), "Idempotency-Token": "batch-0"}
    body = {"company_id": fake.company_id, "updates": [{"name": f"V{i}"} for i in range(10)]}
    fake.faults(error_rate=1.0, kinds=["drop_after"], only_retryable=False)
    with pytest.raises(httpx.ReadError):
        await http.patch("/rest/v1.0/vendors/sync", headers=headers, json=body)
    fake.faults()
    resent = await http.patch("/rest/v1.0/vendors/sync", headers=headers, json=body)
    assert resent.status_code == 200
    assert len(fake.records(fake.company_id, "vendors")) == 20  # created twice
    assert fake.stats.replays == 0
    # A keyed batch (every item has origin_id) is an upsert: resending it is safe.
    keyed = {**body, "updates": [{"origin_id": f"k{i}", "name": f"K{i}"} for i in range(10)]}
    for _ in range(2):
        await http.patch("/rest/v1.0/vendors/sync", headers=headers, json=keyed)
    assert len(fake.records(fake.company_id, "vendors")) == 30


async def test_rolling_spike_window_refuses_a_burst_across_a_fixed_boundary(
    clock: Clock,
) -> None:
    fake = FakeProcore(spike_limit=10, rate_limit=None, clock=clock)
    headers = user_headers(fake)
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:
        assert (await http.get("/rest/v1.0/me", headers=headers)).status_code == 200
        clock.advance(8)
        for _ in range(9):
            assert (await http.get("/rest/v1.0/me", headers=headers)).status_code == 200
        clock.advance(3)  # a fixed window would have reset at t=10
        assert (await http.get("/rest/v1.0/me", headers=headers)).status_code == 200
        refused = await http.get("/rest/v1.0/me", headers=headers)
    assert refused.status_code == 429
    assert "retry-after" not in refused.headers
    assert refused.headers["x-rate-limit-remaining"] == "0"
    assert refused.headers["x-rate-limit-reset"] == str(int(clock.now) - 3 + 10)


async def test_lenient_fake_keeps_fixed_spike_windows(clock: Clock) -> None:
    fake = FakeProcore(spike_limit=10, rate_limit=None, clock=clock, strict=False)
    headers = user_headers(fake)
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:
        await http.get("/rest/v1.0/me", headers=headers)
        clock.advance(8)
        for _ in range(9):
            await http.get("/rest/v1.0/me", headers=headers)
        clock.advance(3)
        statuses = {
            (await http.get("/rest/v1.0/me", headers=headers)).status_code for _ in range(5)
        }
    assert statuses == {200}


async def test_v2_paths_answer_auth_and_header_errors_in_the_v2_shape(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    url = f"/rest/v2.0/companies/{fake.company_id}/roles"
    no_token = await http.get(url)
    assert no_token.status_code == 401
    assert no_token.json()["error"]["code"] == "UNAUTHORIZED"
    assert no_token.json()["error"]["details"][0]["reason_code"] == "INVALID_TOKEN"
    assert "www-authenticate" in no_token.headers
    headers = user_headers(fake)
    del headers["Procore-Company-Id"]
    no_header = await http.get(url, headers=headers)
    assert no_header.status_code == 400
    assert no_header.json()["error"] == {
        "code": "BAD_REQUEST",
        "message": "Missing Procore-Company-Id header!",
        "details": [],
    }
    other = await http.get(url, headers=user_headers(fake, company=1))
    assert (other.status_code, other.json()["error"]["code"]) == (403, "FORBIDDEN")
    # v1 keeps its own shapes.
    v1 = await http.get("/rest/v1.0/me", headers={"Authorization": "Bearer nope"})
    assert list(v1.json()) == ["errors"]


async def test_unified_uploads_are_served_though_the_catalog_lacks_them(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    project = fake.records(fake.company_id, "projects")[0]["id"]
    # Procore's body (tutorial_unified_uploads.md): the file and every segment declared.
    digest = "0" * 64
    body = {"file_name": "a.pdf", "file_size": 10, "sha256": digest,
            "segments": [{"size": 10, "sha256": digest}]}  # fmt: skip
    for scope in ("", f"/projects/{project}"):
        url = f"/rest/v2.1/companies/{fake.company_id}{scope}/uploads"
        response = await http.post(url, headers=user_headers(fake), json=body)
        assert response.status_code == 201, url
        assert response.json()["data"]["file_name"] == "a.pdf"
        refused = await http.post(url, headers=user_headers(fake), json={"file_name": "a.pdf"})
        assert refused.status_code == 422, url  # no segments: Procore's rules


async def test_singletons_and_actions_answer_without_a_collection(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    project = fake.records(fake.company_id, "projects")[0]["id"]
    base = f"/rest/v2.0/companies/{fake.company_id}/projects/{project}/change_event_settings"
    headers = user_headers(fake)
    changed = await http.patch(base, headers=headers, json={"data": {"enabled": True}})
    assert changed.json() == {"data": {"enabled": True}}
    assert (await http.get(base, headers=headers)).json() == {"data": {"enabled": True}}


def test_feature_routes_must_be_catalog_operations(fake: FakeProcore) -> None:
    routes = fake._api.routes
    with pytest.raises(ValueError, match="not an operation"):
        routes.add("GET", "/rest/v1.0/companies/{company_id}/vendors", _echo)
    with pytest.raises(ValueError, match="must look like"):
        routes.add("GET", "rest/v1.0/vendors", _echo)
    routes.add("PATCH", "/rest/v1.0/vendors/{vendor}", _echo)
    with pytest.raises(ValueError, match="already"):
        routes.add("PATCH", "/rest/v1.0/vendors/{id}", _echo)
    with pytest.raises(ValueError, match="already"):  # the webhooks feature serves it (#15)
        routes.add("PATCH", "/rest/v1.0/webhooks/hooks/{hook}", _echo)


def _echo(call: Call) -> Reply:
    return json_reply(200, {"params": call.params, "company": call.company})


async def test_a_feature_route_gets_its_params_and_checked_scope(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    fake._api.routes.add("PATCH", "/rest/v1.0/vendors/{vendor}", _echo)
    headers = user_headers(fake)
    url = f"/rest/v1.0/vendors/77?company_id={fake.company_id}"
    response = await http.patch(url, headers=headers, json={})
    assert response.json() == {"params": {"vendor": "77"}, "company": fake.company_id}
    scoped_out = await http.patch("/rest/v1.0/vendors/77?company_id=1", headers=headers, json={})
    assert scoped_out.status_code == 404


async def test_lenient_fake_takes_feature_routes_off_the_catalog(
    lenient_http: httpx.AsyncClient, lenient: FakeProcore
) -> None:
    lenient._api.routes.add("GET", "/rest/v1.0/custom/{thing_id}", _echo)
    url = f"/rest/v1.0/custom/5?company_id={lenient.company_id}"
    response = await lenient_http.get(url, headers=user_headers(lenient))
    assert response.json() == {"params": {"thing_id": "5"}, "company": lenient.company_id}


async def test_a_create_needs_the_attributes_the_catalog_requires(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    project = fake.records(fake.company_id, "projects")[0]["id"]
    url = f"/rest/v1.0/projects/{project}/rfis"
    headers = user_headers(fake)
    named = await http.post(url, headers=headers, json={"rfi": {"name": "Only a name"}})
    assert named.status_code == 422
    assert sorted(named.json()["errors"]) == ["question", "rfi_manager_id", "subject"]
    rfi = {"subject": "Beam size", "question": "Which?", "rfi_manager_id": fake.user["id"]}
    created = await http.post(url, headers=headers, json={"rfi": rfi})
    assert created.status_code == 201
    # A create whose schema requires nothing takes any attributes.
    roles = f"/rest/v2.0/companies/{fake.company_id}/roles"
    assert (await http.post(roles, headers=headers, json={})).status_code == 201
