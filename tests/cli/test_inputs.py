"""Reading what the user typed: --query, --body and update files."""

from __future__ import annotations

from pathlib import Path

import pytest

from procore_async.cli._inputs import UsageError, parse_body, parse_query, read_updates


def test_query_pairs_lists_and_json() -> None:
    assert parse_query(None) is None
    assert parse_query(["page=2", "per_page=5&sort=-name"]) == {
        "page": "2",
        "per_page": "5",
        "sort": "-name",
    }
    assert parse_query(["ids[]=1", "ids[]=2", "filters[status]=open"]) == {
        "ids": ["1", "2"],
        "filters[status]": "open",
    }
    assert parse_query(['{"filters": {"active": true}}', "page=1"]) == {
        "filters": {"active": True},
        "page": "1",
    }
    assert parse_query(["a=1", "a=2"]) == {"a": "2"}  # Rails keeps the last
    assert parse_query(["q=a=b"]) == {"q": "a=b"}


@pytest.mark.parametrize("value", ["novalue", "=1", "[1, 2]", "{bad"])
def test_bad_queries(value: str) -> None:
    with pytest.raises(UsageError, match="--query"):
        parse_query([value])


def test_body_inline_and_from_file(tmp_path: Path) -> None:
    assert parse_body(None) is None
    assert parse_body('{"a": [1, 2]}') == {"a": [1, 2]}
    path = tmp_path / "body.json"
    path.write_text('{"project": {"name": "Tower"}}')
    assert parse_body(f"@{path}") == {"project": {"name": "Tower"}}
    with pytest.raises(UsageError, match="cannot read"):
        parse_body(f"@{tmp_path / 'missing.json'}")
    path.write_text("{")
    with pytest.raises(UsageError, match="not valid JSON"):
        parse_body(f"@{path}")


def test_csv_rows_drop_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "vendors.csv"
    path.write_text("origin_id,name,city\nv-1,Acme,\nv-2,,Austin\n")
    assert read_updates(str(path)) == [
        {"origin_id": "v-1", "name": "Acme"},
        {"origin_id": "v-2", "city": "Austin"},
    ]
    path.write_text("origin_id,name\nv-1,Acme,extra\n")
    with pytest.raises(UsageError, match="line 2: more cells than columns"):
        read_updates(str(path))
    path.write_text("")
    with pytest.raises(UsageError, match="no header row"):
        read_updates(str(path))


def test_jsonl_and_json_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"name": "a"}\n\n{"name": "b"}\n')
    assert read_updates(str(path)) == [{"name": "a"}, {"name": "b"}]
    path.write_text('{"name": "a"}\n{"name": \n')
    with pytest.raises(UsageError, match="line 2 is not valid JSON"):
        read_updates(str(path))
    path.write_text('{"name": "a"}\n[1]\n')
    with pytest.raises(UsageError, match="record 2 is not a JSON object"):
        read_updates(str(path))
    listing = tmp_path / "rows.json"
    listing.write_text('[{"name": "a"}]')
    assert read_updates(str(listing)) == [{"name": "a"}]
    listing.write_text('{"name": "a"}')
    with pytest.raises(UsageError, match="must hold a list"):
        read_updates(str(listing))
