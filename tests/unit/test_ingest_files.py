"""Ingest CSV files: record boundaries, torn-tail repair, the header rule, escaping."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conveyor.errors import InvalidRecord
from conveyor.ingest.csvfile import StreamFile, encode_rows, last_boundary
from conveyor.ingest.records import Record, header, parse_body, row

AT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_a_record_ends_only_at_a_newline_outside_quotes() -> None:
    data = b'a,b\n1,"two\nlines"\n3,"open\n'
    assert last_boundary(data) == len(b'a,b\n1,"two\nlines"\n')
    assert last_boundary(b"no newline yet") == 0
    assert last_boundary(b'x,"say ""hi"""\n') == len(b'x,"say ""hi"""\n')


def append(file: StreamFile, columns: list[str], *records: dict[str, object]) -> None:
    rows = [row(Record(AT, dict(r)), columns, True) for r in records]  # type: ignore[arg-type]
    file.append(header(columns), encode_rows(rows))
    file.columns = columns


def test_the_header_is_written_once_and_read_back_on_reopen(tmp_path: Path) -> None:
    file = StreamFile(tmp_path, "s")
    file.open()
    assert file.columns is None
    append(file, ["t", "p"], {"t": 1, "p": "x"})
    file.close()
    again = StreamFile(tmp_path, "s")
    again.open()
    assert again.columns == ["t", "p"]
    append(again, ["t", "p"], {"t": 2, "p": "y"})
    again.close()
    assert read_rows(tmp_path / "s.csv") == [
        ["received_at", "t", "p", "extra"],
        ["2026-01-02T03:04:05.678901Z", "1", "x", ""],
        ["2026-01-02T03:04:05.678901Z", "2", "y", ""],
    ]


@pytest.mark.parametrize("with_hint", [True, False])
def test_a_torn_last_record_is_cut_off_on_open(tmp_path: Path, with_hint: bool) -> None:
    file = StreamFile(tmp_path, "s")
    file.open()
    append(file, ["note"], {"note": "multi\nline, quoted"}, {"note": "second"})
    file.close()
    whole = (tmp_path / "s.csv").read_bytes()
    if not with_hint:  # the side file is only a hint: without it the whole file is scanned
        (tmp_path / ".s.csv.length").unlink()
    with (tmp_path / "s.csv").open("ab") as raw:
        raw.write(b'2026-01-02T03:04:05Z,"a write cut\nshort')  # kill -9 mid-append
    repaired = StreamFile(tmp_path, "s")
    repaired.open()
    repaired.close()
    assert (tmp_path / "s.csv").read_bytes() == whole
    assert [r[1] for r in read_rows(tmp_path / "s.csv")] == [
        "note",
        "multi\nline, quoted",
        "second",
    ]


def test_a_torn_header_leaves_an_empty_file_that_gets_a_header(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_bytes(b"received_at,te")
    file = StreamFile(tmp_path, "s")
    file.open()
    assert file.columns is None
    assert (tmp_path / "s.csv").read_bytes() == b""
    append(file, ["temp"], {"temp": 20})
    assert read_rows(tmp_path / "s.csv")[0] == ["received_at", "temp", "extra"]


def test_new_fields_go_to_extra_and_missing_ones_are_empty() -> None:
    cells = row(Record(AT, {"t": 1, "new": "n", "flag": False}), ["t", "p"], True)
    assert cells == ["2026-01-02T03:04:05.678901Z", "1", "", '{"new":"n","flag":false}']


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-x", "'-x"),
        ("@f", "'@f"),
        ("plain", "plain"),
        (-5, "-5"),
        (0.1, "0.1"),
        (None, ""),
        (True, "true"),
    ],
)
def test_text_that_a_spreadsheet_would_run_is_defused(value: object, cell: str) -> None:
    assert row(Record(AT, {"v": value}), ["v"], True)[1] == cell  # type: ignore[dict-item]


def test_the_formula_guard_can_be_turned_off() -> None:
    assert row(Record(AT, {"v": "=1"}), ["v"], False)[1] == "=1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ([1, 2], "body"),
        ({"nested": {"a": 1}}, "nested"),
        ({"list": [1]}, "list"),
        ({"received_at": "x"}, "received_at"),
        ({"": 1}, ""),
        ({"records": []}, "records"),
        ({"records": [{"a": 1}, 5]}, "records[1]"),
        ({"records": [{"a": 1}], "other": 1}, "other"),
    ],
)
def test_bad_bodies_name_the_field(body: object, field: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_body(body, AT)
    assert caught.value.field == field


def test_a_records_batch_and_a_scalar_records_field() -> None:
    assert len(parse_body({"records": [{"a": 1}, {"b": 2}]}, AT)) == 2
    [single] = parse_body({"records": 3, "x": "y"}, AT)  # a sensor field named records
    assert single.fields == {"records": 3, "x": "y"}
