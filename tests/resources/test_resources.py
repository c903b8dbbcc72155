"""The generated resources on the wire (respx): paths, versions, query, headers, results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import respx

from procore_async import AsyncClient, InvalidRequestError, Response
from procore_async.resources import NAMESPACES, Api, validate, validate_items
from procore_async.resources.projects import Project, ProjectsListItem

from ..conftest import API, MakeClient

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    return done.stdout.strip()


def test_importing_the_package_imports_no_resource_module() -> None:
    code = (
        "import sys, procore_async\n"
        "print(sorted(m for m in sys.modules if m.startswith('procore_async.resources')))"
    )
    assert _run(code) == "[]"


def test_touching_one_namespace_loads_only_its_module() -> None:
    code = (
        "import sys\nfrom procore_async import AsyncClient\n"
        "client = AsyncClient('id', 'secret')\nclient.api.rfis\n"
        "print(sorted(m for m in sys.modules if m.startswith('procore_async.resources')))"
    )
    loaded = json.loads(_run(code).replace("'", '"'))
    assert loaded == [
        "procore_async.resources",
        "procore_async.resources._api",
        "procore_async.resources._runtime",
        "procore_async.resources.rfis",
    ]


async def test_api_is_one_lazy_object_per_client(make_client: MakeClient) -> None:
    client = make_client()
    assert client.api is client.api
    assert isinstance(client.api, Api)
    assert client.api.rfis is client.api.rfis
    assert repr(client.api.rfis) == "<RfisResource>"
    assert dir(client.api) == list(NAMESPACES)
    assert len(NAMESPACES) > 500 and list(NAMESPACES) == sorted(NAMESPACES)


@respx.mock
async def test_a_show_sends_the_path_version_and_company_header(make_client: MakeClient) -> None:
    route = respx.get(f"{API}/rest/v1.0/projects/7").respond(json={"id": 7, "name": "Tower"})
    response = await make_client().api.projects.show(id=7, company_id=3, view="minimal")
    request = route.calls.last.request
    assert request.url.params["company_id"] == "3" and request.url.params["view"] == "minimal"
    assert request.headers["Procore-Company-Id"] == "3"
    project: Project = response.data
    assert project == {"id": 7, "name": "Tower"} and response.body == project


@respx.mock
async def test_a_v1_1_operation_calls_v1_1(make_client: MakeClient) -> None:
    route = respx.get(f"{API}/rest/v1.1/projects").respond(json=[{"id": 1}])
    items = [item async for item in make_client().api.projects.list_v1_1(company_id=3)]
    assert items == [{"id": 1}] and route.called


@respx.mock
async def test_a_v2_envelope_is_unwrapped_in_the_typed_result(make_client: MakeClient) -> None:
    url = f"{API}/rest/v2.0/companies/3/projects/5/calendars/c-1"
    respx.get(url).respond(json={"data": {"id": "c-1", "name": "Main"}, "meta": {}})
    response = await make_client().api.calendars.get_by_id(
        company_id=3, project_id="5", calendar_id="c-1"
    )
    assert response.data == {"id": "c-1", "name": "Main"}
    assert response.body["meta"] == {}  # the whole body is still there


@respx.mock
async def test_a_v2_list_yields_the_items_of_its_envelope(make_client: MakeClient) -> None:
    url = f"{API}/rest/v2.0/companies/3/projects/5/calendars"
    respx.get(url).respond(json={"data": [{"id": "c-1"}, {"id": "c-2"}]})
    items = [x async for x in make_client().api.calendars.list(company_id=3, project_id="5")]
    assert [item["id"] for item in items] == ["c-1", "c-2"]


@respx.mock
async def test_filters_and_lists_are_encoded_the_rails_way(make_client: MakeClient) -> None:
    route = respx.get(f"{API}/rest/v1.0/projects/5/rfis").respond(json=[])
    rfis = make_client().api.rfis.list(
        project_id=5, company_id=3, filters={"status": "open", "id": [1, 2]}, search="roof"
    )
    assert [item async for item in rfis] == []
    query = route.calls.last.request.url.query.decode()
    assert "filters[status]=open" in query and "filters[id][]=1&filters[id][]=2" in query
    assert "search=roof" in query and "per_page" not in query


@respx.mock
async def test_per_page_page_and_max_items_reach_the_paginator(make_client: MakeClient) -> None:
    route = respx.get(f"{API}/rest/v1.0/projects/5/rfis").respond(json=[{"id": 1}, {"id": 2}])
    rfis = make_client().api.rfis.list(project_id=5, company_id=3, per_page=2, page=4, max_items=1)
    assert [item async for item in rfis] == [{"id": 1}]
    params = route.calls.last.request.url.params
    assert params["per_page"] == "2" and params["page"] == "4"


@respx.mock
async def test_a_write_sends_its_body_and_query_parameters(make_client: MakeClient) -> None:
    route = respx.post(f"{API}/rest/v1.0/projects").respond(201, json={"id": 9})
    response = await make_client().api.projects.create(
        body={"company_id": 3, "project": {"name": "New"}},
        run_configurable_validations=True,
        company_id=3,
    )
    request = route.calls.last.request
    assert request.url.params["run_configurable_validations"] == "true"
    assert json.loads(request.content) == {"company_id": 3, "project": {"name": "New"}}
    assert response.status_code == 201 and response.data == {"id": 9}


@respx.mock
async def test_an_operation_declaring_idempotency_token_sends_it(make_client: MakeClient) -> None:
    route = respx.post(f"{API}/rest/v1.0/projects/5/daily_logs/clones").respond(json={})
    await make_client().api.daily_log_clones.clone(
        project_id=5, company_id=3, body={"from_date": "2026-01-01"}, idempotency_token="k-1"
    )
    assert route.calls.last.request.headers["Idempotency-Token"] == "k-1"


@respx.mock
async def test_a_sync_operation_runs_through_client_sync(make_client: MakeClient) -> None:
    seen: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        updates = json.loads(request.content)["updates"]
        seen.append(len(updates))
        return httpx.Response(200, json={"entities": updates, "errors": []})

    respx.patch(f"{API}/rest/v1.0/vendors/sync").mock(side_effect=answer)
    updates = [{"origin_id": f"v-{i}", "name": f"V{i}"} for i in range(5)]
    result = await make_client().api.company_vendors.sync(
        company_id=3, body={"updates": updates}, batch_size=2
    )
    assert sorted(seen) == [1, 2, 2]
    assert [entity["origin_id"] for entity in result.entities] == [u["origin_id"] for u in updates]


@respx.mock
async def test_a_string_path_parameter_is_one_encoded_segment(make_client: MakeClient) -> None:
    url = f"{API}/rest/v2.0/companies/3/projects/a%2F..%2Fb/calendars/c"
    route = respx.get(url).respond(json={"data": {}})
    await make_client().api.calendars.get_by_id(company_id=3, project_id="a/../b", calendar_id="c")
    assert route.called


@pytest.mark.parametrize("bad", [None, True, 1.5, "", [1]])
async def test_a_bad_path_parameter_fails_before_any_request(
    make_client: MakeClient, bad: object
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__regex=r".*").respond(json={})
        with pytest.raises(TypeError, match="path parameter"):
            await make_client().api.projects.show(id=bad, company_id=3)  # type: ignore[arg-type]
        assert not route.called


async def test_an_error_status_is_the_usual_typed_error(make_client: MakeClient) -> None:
    with respx.mock:
        respx.get(f"{API}/rest/v1.0/projects/7").respond(422, json={"errors": "bad"})
        with pytest.raises(InvalidRequestError):
            await make_client().api.projects.show(id=7, company_id=3)


@respx.mock
async def test_paginate_item_type_only_types_the_items(make_client: MakeClient) -> None:
    respx.get(f"{API}/rest/v1.0/projects").respond(json=[{"id": 1, "name": "A"}])
    items = make_client().paginate("projects", company_id=3, item_type=ProjectsListItem)
    assert [item async for item in items] == [{"id": 1, "name": "A"}]


def test_response_and_item_iterator_are_generic_and_bare_names_still_work() -> None:
    from procore_async import ItemIterator

    assert Response[Project] is not Response and ItemIterator[Project] is not ItemIterator
    assert Response.envelope is False


def test_validate_checks_a_typed_result_and_keeps_it_as_it_came() -> None:
    pytest.importorskip("pydantic")
    data = {"id": 7, "name": "Tower", "field_procore_added_later": [1], "origin_id": None}
    assert validate(Project, data) is data
    with pytest.raises(ValueError, match="id"):
        validate(Project, {"id": "not a number"})
    with pytest.raises(ValueError, match="name"):
        validate(Project, {"name": ["a list"]})


async def test_validate_items_checks_each_item_as_it_arrives() -> None:
    pytest.importorskip("pydantic")

    async def items() -> object:
        yield {"id": 1}
        yield {"id": "x"}

    checked = validate_items(ProjectsListItem, items())  # type: ignore[arg-type]
    assert await anext(checked) == {"id": 1}
    with pytest.raises(ValueError, match="id"):
        await anext(checked)


def test_a_client_built_without_resources_has_them_on_demand() -> None:
    client = AsyncClient("id", "secret")
    assert "api" not in vars(client)
    assert client.api.projects is client.api.projects
    assert "api" in vars(client)
