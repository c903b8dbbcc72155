"""Pagination exactly as Procore (api-pagination): Link, Total, Per-Page."""

from __future__ import annotations

import httpx
import pytest

from procore_async.testing import FakeProcore

from .conftest import user_headers

# procore-api.md §4, the docs' example, with its display line breaks joined by ", ".
DOCS_LINK = (
    '<https://api.procore.com/rest/v1.0/punch_items?page=1&per_page=5>; rel="first", '
    '<https://api.procore.com/rest/v1.0/punch_items?page=2&per_page=5>; rel="prev", '
    '<https://api.procore.com/rest/v1.0/punch_items?page=30&per_page=5>; rel="last", '
    '<https://api.procore.com/rest/v1.0/punch_items?page=4&per_page=5>; rel="next"'
)


async def test_link_header_is_byte_for_byte_the_documented_one(lenient: FakeProcore) -> None:
    # Procore's docs example omits punch_items' required project_id: a lenient fake serves it.
    fake = lenient
    fake.add_records(fake.company_id, "punch_items", 150)
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        response = await http.get(
            "https://api.procore.com/rest/v1.0/punch_items?page=3&per_page=5",
            headers=user_headers(fake),
        )
    assert response.headers["link"] == DOCS_LINK
    assert response.headers["total"] == "150"
    assert response.headers["per-page"] == "5"
    assert [r["name"] for r in response.json()] == [f"Punch item {i}" for i in range(11, 16)]


@pytest.mark.parametrize(
    ("page", "rels"),
    [
        (1, ["last", "next"]),
        (2, ["first", "prev", "last", "next"]),
        (3, ["first", "prev"]),
        (9, ["first", "prev"]),
    ],
)
async def test_which_rels_appear_on_which_page(
    http: httpx.AsyncClient, fake: FakeProcore, page: int, rels: list[str]
) -> None:
    response = await http.get(
        "/rest/v1.0/projects",
        params={"company_id": fake.company_id, "per_page": 100, "page": page},
        headers=user_headers(fake),
    )
    assert list(response.links) == rels
    if page == 9:
        assert response.json() == []
        assert response.links["prev"]["url"].endswith("page=8&per_page=100")


async def test_links_are_absolute_on_the_callers_host_and_keep_the_query(
    fake: FakeProcore,
) -> None:
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        response = await http.get(
            "http://localhost:8000/rest/v1.0/projects",
            params=[("per_page", "50"), ("filters[active]", "true"), ("company_id", "8089")],
            headers=user_headers(fake),
        )
    assert response.links["next"]["url"] == (
        "http://localhost:8000/rest/v1.0/projects"
        "?company_id=8089&filters%5Bactive%5D=true&page=2&per_page=50"
    )


async def test_single_page_has_no_link_header(http: httpx.AsyncClient, fake: FakeProcore) -> None:
    headers = user_headers(fake)
    response = await http.get(
        f"/rest/v1.0/projects?company_id={fake.second_company_id}", headers=headers
    )
    assert "link" not in response.headers
    assert (response.headers["total"], response.headers["per-page"]) == ("3", "100")
    empty = await http.get(f"/rest/v1.0/vendors?company_id={fake.company_id}", headers=headers)
    assert (empty.json(), empty.headers["total"], "link" in empty.headers) == ([], "0", False)


async def test_v2_link_header_is_present_but_empty_on_a_single_page(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    fake.add_records(fake.second_company_id, "roles", 3)
    response = await http.get(
        f"/rest/v2.0/companies/{fake.second_company_id}/roles", headers=user_headers(fake)
    )
    assert response.headers["link"] == ""
    assert len(response.json()["data"]) == 3
    capped = await http.get(
        f"/rest/v2.0/companies/{fake.company_id}/roles?per_page=1000",
        headers=user_headers(fake),
    )
    assert capped.headers["per-page"] == "100"


@pytest.mark.parametrize(
    ("per_page", "expected"), [(None, "100"), ("0", "100"), ("abc", "100"), ("20000", "10000")]
)
async def test_per_page_defaults_and_cap(
    http: httpx.AsyncClient, fake: FakeProcore, per_page: str | None, expected: str
) -> None:
    params = {"company_id": str(fake.company_id)}
    if per_page is not None:
        params["per_page"] = per_page
    response = await http.get("/rest/v1.0/projects", params=params, headers=user_headers(fake))
    assert response.headers["per-page"] == expected


async def test_walking_next_links_visits_every_record_once(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = user_headers(fake)
    url: str | None = f"/rest/v1.0/projects?company_id={fake.company_id}&per_page=7"
    seen: list[int] = []
    while url:
        response = await http.get(url, headers=headers)
        seen += [p["id"] for p in response.json()]
        url = response.links.get("next", {}).get("url")
    assert len(seen) == len(set(seen)) == 250
