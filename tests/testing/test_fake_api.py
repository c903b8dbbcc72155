"""FakeProcore's REST API: me, companies, MPZ, CRUD on catalog resources, v1.x and v2.0."""

from __future__ import annotations

import httpx
import pytest

from procore_async.testing import FakeProcore

from .conftest import user_headers

MPZ = {"errors": "Missing Procore-Company-Id header!"}


async def test_me_and_companies_need_no_company_header_for_a_user(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    token = fake.issue_token()
    headers = {"Authorization": f"Bearer {token.access_token}"}
    me = await http.get("/rest/v1.0/me", headers=headers)
    assert me.json() == {"id": 5447, "login": "pat.builder@example.com", "name": "Pat Builder"}
    companies = await http.get("/rest/v1.0/companies", headers=headers)
    assert [c["id"] for c in companies.json()] == [fake.company_id, fake.second_company_id]
    assert set(companies.json()[0]) >= {"id", "name", "is_active", "logo_url", "my_company"}
    assert companies.headers["total"] == "2"


async def test_client_credentials_tokens_need_the_header_even_for_me(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    token = fake.issue_token(service_account=True)
    headers = {"Authorization": f"Bearer {token.access_token}"}
    for path in ("/rest/v1.0/me", "/rest/v1.0/companies"):
        response = await http.get(path, headers=headers)
        assert (response.status_code, response.json()) == (400, MPZ)
    headers["Procore-Company-Id"] = str(fake.company_id)
    me = await http.get("/rest/v1.0/me", headers=headers)
    assert me.json()["id"] == fake.service_account["id"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/rest/v1.0/projects?company_id=8089"),
        ("GET", "/rest/v1.0/vendors?company_id=8089"),
        ("POST", "/rest/v1.0/vendors"),
        ("GET", "/rest/v1.1/companies/8089/me"),
        ("GET", "/rest/v1.1/me"),
        ("PATCH", "/rest/v1.0/projects/sync?company_id=8089"),
    ],
)
async def test_company_header_is_required_everywhere_else(
    http: httpx.AsyncClient, fake: FakeProcore, method: str, path: str
) -> None:
    headers = user_headers(fake)
    del headers["Procore-Company-Id"]
    response = await http.request(method, path, headers=headers, json={})
    assert (response.status_code, response.json()) == (400, MPZ)


async def test_unknown_company_in_header_is_403_and_bad_token_beats_mpz(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    response = await http.get("/rest/v1.0/me", headers=user_headers(fake, company=1))
    assert response.status_code == 403
    assert response.json() == {"errors": ["App is not connected to this company."]}
    no_token = await http.get("/rest/v1.0/projects?company_id=8089")
    assert no_token.status_code == 401


async def test_projects_list_needs_company_id_param(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    response = await http.get("/rest/v1.0/projects", headers=user_headers(fake))
    assert response.status_code == 400
    assert "company_id" in response.json()["errors"]


async def test_crud_on_a_catalog_resource(http: httpx.AsyncClient, fake: FakeProcore) -> None:
    headers = user_headers(fake)
    base = f"/rest/v1.0/companies/{fake.company_id}/insurances"
    missing = await http.post(base, headers=headers, json={"insurance": {"name": "Liability"}})
    # The catalog's create schema requires vendor_id of an insurance.
    assert missing.json() == {"errors": {"vendor_id": ["can't be blank"]}}
    body = {"insurance": {"name": "Liability", "vendor_id": 7}}
    created = await http.post(base, headers=headers, json=body)
    assert created.status_code == 201
    insurance = created.json()
    assert isinstance(insurance["id"], int)
    assert insurance["created_at"].endswith("Z")
    shown = await http.get(f"{base}/{insurance['id']}", headers=headers)
    assert shown.json() == insurance
    updated = await http.patch(
        f"{base}/{insurance['id']}", headers=headers, json={"insurance": {"name": "Auto"}}
    )
    assert updated.json()["name"] == "Auto"
    assert [i["name"] for i in fake.records(fake.company_id, "insurances")] == ["Auto"]
    listed = await http.get(base, headers=headers)
    assert [i["id"] for i in listed.json()] == [insurance["id"]]
    deleted = await http.delete(f"{base}/{insurance['id']}", headers=headers)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (await http.get(f"{base}/{insurance['id']}", headers=headers)).status_code == 404
    assert fake.records(fake.company_id, "insurances") == []


async def test_lenient_fake_crud_on_any_resource_name(
    lenient_http: httpx.AsyncClient, lenient: FakeProcore
) -> None:
    http, fake = lenient_http, lenient
    headers = user_headers(fake)
    base = f"/rest/v1.0/companies/{fake.company_id}/vendors"
    created = await http.post(base, headers=headers, json={"vendor": {"name": "Acme"}})
    assert created.status_code == 201
    vendor = created.json()
    assert isinstance(vendor["id"], int)
    assert vendor["name"] == "Acme"
    assert vendor["created_at"].endswith("Z")
    shown = await http.get(f"{base}/{vendor['id']}", headers=headers)
    assert shown.json() == vendor
    updated = await http.patch(
        f"/rest/v1.1/companies/{fake.company_id}/vendors/{vendor['id']}",
        headers=headers,
        json={"vendor": {"name": "Acme Ltd"}},
    )
    assert updated.json()["name"] == "Acme Ltd"
    assert [v["name"] for v in fake.records(fake.company_id, "vendors")] == ["Acme Ltd"]
    # /rest/v1.0/vendors?company_id= is the same collection.
    listed = await http.get(f"/rest/v1.0/vendors?company_id={fake.company_id}", headers=headers)
    assert [v["id"] for v in listed.json()] == [vendor["id"]]
    deleted = await http.delete(f"{base}/{vendor['id']}", headers=headers)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert (await http.get(f"{base}/{vendor['id']}", headers=headers)).status_code == 404
    assert fake.records(fake.company_id, "vendors") == []


async def test_create_validates_blank_names_and_taken_origin_ids(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = user_headers(fake)
    base = f"/rest/v1.0/vendors?company_id={fake.company_id}"
    blank = await http.post(base, headers=headers, json={"vendor": {"name": " "}})
    assert (blank.status_code, blank.json()) == (422, {"errors": {"name": ["can't be blank"]}})
    missing = await http.post(base, headers=headers, json={"vendor": {"origin_id": "q"}})
    assert (missing.status_code, missing.json()) == (422, {"errors": {"name": ["can't be blank"]}})
    await http.post(base, headers=headers, json={"vendor": {"name": "A", "origin_id": "x"}})
    taken = await http.post(base, headers=headers, json={"vendor": {"name": "B", "origin_id": "x"}})
    assert taken.status_code == 409
    assert taken.json() == {"errors": {"origin_id": ["has already been taken"]}}


async def test_project_create_takes_company_id_from_the_body(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    response = await http.post(
        "/rest/v1.0/projects",
        headers=user_headers(fake),
        json={"company_id": fake.second_company_id, "project": {"name": "Tower"}},
    )
    assert response.status_code == 201
    assert response.json()["company"]["id"] == fake.second_company_id
    assert len(fake.records(fake.second_company_id, "projects")) == 4


async def test_project_scoped_resources_and_their_aliases(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = user_headers(fake)
    project = fake.records(fake.company_id, "projects")[0]["id"]
    rfis = fake.add_records(fake.company_id, "rfis", 3, project_id=project)
    nested = await http.get(f"/rest/v1.0/projects/{project}/rfis", headers=headers)
    assert [r["id"] for r in nested.json()] == [r["id"] for r in rfis]
    alias = await http.get(
        f"/rest/v2.0/companies/{fake.company_id}/projects/{project}/coordination_issues",
        headers=headers,
    )
    assert alias.json() == []  # another collection, scoped to the same project
    other_company = user_headers(fake, company=fake.second_company_id)
    hidden = await http.get(f"/rest/v1.0/projects/{project}/rfis", headers=other_company)
    assert hidden.status_code == 404
    missing = await http.get("/rest/v1.0/projects/1/rfis", headers=headers)
    assert missing.status_code == 404


async def test_filters_by_id_origin_id_and_attribute(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    rows = fake.add_records(fake.company_id, "vendors", 5, origin_id=lambda i: f"ext-{i}",
                            city=lambda i: "Oslo" if i % 2 else "Rome")  # fmt: skip
    headers = user_headers(fake)
    base = "/rest/v1.0/vendors"
    scope = ("company_id", fake.company_id)
    by_ids = await http.get(
        base,
        headers=headers,
        params=[scope, ("filters[id][]", rows[3]["id"]), ("filters[id][]", rows[0]["id"])],
    )
    assert [r["id"] for r in by_ids.json()] == [rows[0]["id"], rows[3]["id"]]
    by_origin = await http.get(
        base, headers=headers, params=[scope, ("filters[origin_id]", "ext-2")]
    )
    assert [r["id"] for r in by_origin.json()] == [rows[1]["id"]]
    by_city = await http.get(base, headers=headers, params=[scope, ("filters[city]", "Oslo")])
    assert by_city.headers["total"] == "3"


async def test_v2_wraps_data_and_uses_string_ids(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = user_headers(fake)
    project = fake.records(fake.company_id, "projects")[0]["id"]
    fake.add_records(fake.company_id, "commitment_contracts", 12, project_id=project)
    base = f"/rest/v2.0/companies/{fake.company_id}/projects/{project}/commitment_contracts"
    listed = await http.get(base, headers=headers)
    data = listed.json()["data"]
    assert len(data) == 10  # v2 default per_page
    assert isinstance(data[0]["id"], str)
    shown = await http.get(f"{base}/{data[0]['id']}", headers=headers)
    assert shown.json() == {"data": data[0]}
    created = await http.post(base, headers=headers, json={"name": "CC"})
    assert created.status_code == 422  # the catalog requires a commitment contract's type
    assert created.json()["error"]["code"] == "VALIDATION_ERROR"
    assert created.json()["error"]["details"][0]["source"] == "type"
    missing = await http.get(f"{base}/1", headers=headers)
    assert missing.json()["error"]["code"] == "NOT_FOUND"


async def test_unknown_routes_and_versions_are_404(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = user_headers(fake)
    for path in ("/vapid/projects", "/rest/v9.0/me", "/rest/v2.0/me", "/rest/v1.0/companies/1/x"):
        assert (await http.get(path, headers=headers)).status_code == 404, path


async def test_every_response_carries_a_unique_request_id(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = user_headers(fake)
    responses = [await http.get("/rest/v1.0/me", headers=headers) for _ in range(3)]
    responses.append(await http.get("/rest/v1.0/me"))
    responses.append(await http.post("/oauth/token", data={}))
    ids = {r.headers["x-request-id"] for r in responses}
    assert len(ids) == len(responses)


async def test_malformed_json_is_400(http: httpx.AsyncClient, fake: FakeProcore) -> None:
    response = await http.post(
        f"/rest/v1.0/companies/{fake.company_id}/insurances",
        headers={**user_headers(fake), "Content-Type": "application/json"},
        content=b"{nope",
    )
    assert response.status_code == 400


def test_add_records_rejects_unknown_scopes(fake: FakeProcore) -> None:
    with pytest.raises(ValueError, match="no company"):
        fake.add_records(1, "vendors")
    with pytest.raises(ValueError, match="collection"):
        fake.add_records(fake.company_id, "rfis", project_id=1)
    with pytest.raises(ValueError, match="invalid"):
        fake.add_records(fake.company_id, "vendors", 2, origin_id="same")
