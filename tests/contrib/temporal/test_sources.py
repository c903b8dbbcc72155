"""Reading import rows by range from files (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from procore_async import InvalidRequestError
from procore_async.contrib.temporal import FileSource, UnkeyedImportError, is_keyed


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


async def _read(source: FileSource, location: str, start: int, stop: int) -> list[dict]:
    return [dict(row) async for row in source.rows(location, {}, start, stop)]


async def test_jsonl_rows_by_range(tmp_path: Path) -> None:
    rows = [{"origin_id": f"o-{i}", "name": f"N {i}"} for i in range(2500)]
    path = _jsonl(tmp_path / "in.jsonl", rows)
    source = FileSource()
    assert await source.count(str(path), {}) == 2500
    assert await _read(source, str(path), 0, 3) == rows[:3]
    assert await _read(source, str(path), 1998, 2003) == rows[1998:2003]
    assert await _read(source, str(path), 2490, 2600) == rows[2490:]


async def test_blank_lines_do_not_count_as_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 2}\n  \n{"id": 3}\n', encoding="utf-8")
    source = FileSource()
    assert await source.count(str(path), {}) == 3
    assert await _read(source, str(path), 2, 3) == [{"id": 3}]


async def test_csv_rows_leave_empty_cells_out(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('origin_id,name,city\na-1,"Acme, Inc.",\na-2,Bolt,"Multi\nline"\n', "utf-8")
    source = FileSource()
    assert await source.count(str(path), {}) == 2
    assert await _read(source, str(path), 0, 2) == [
        {"origin_id": "a-1", "name": "Acme, Inc."},
        {"origin_id": "a-2", "name": "Bolt", "city": "Multi\nline"},
    ]


async def test_counting_refuses_an_unkeyed_row_with_its_number(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "in.jsonl", [{"origin_id": "a", "name": "A"}, {"name": "B"}])
    with pytest.raises(UnkeyedImportError, match="row 2 has neither 'id' nor 'origin_id'"):
        await FileSource().count(str(path), {})


async def test_bad_json_and_non_objects_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(InvalidRequestError, match="line 2 is not valid JSON"):
        await FileSource().count(str(bad), {})
    lists = tmp_path / "list.jsonl"
    lists.write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(InvalidRequestError, match="row 1 is not an object"):
        await FileSource().count(str(lists), {})


def test_is_keyed() -> None:
    assert is_keyed({"id": 5})
    assert is_keyed({"origin_id": "x"})
    assert not is_keyed({"origin_id": "", "name": "x"})
    assert not is_keyed({"id": None})
