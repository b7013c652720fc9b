"""Ingested records: what a body may hold, and how a record becomes a CSV row."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from conveyor.errors import InvalidRecord
from conveyor.task import JSONObject, format_time

STREAM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FIELD_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")
RECEIVED_AT = "received_at"
EXTRA = "extra"
RESERVED = frozenset({RECEIVED_AT, EXTRA})
MAX_RECORDS = 1000
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Record:
    received_at: datetime
    fields: dict[str, Scalar]


def check_stream(name: str) -> str:
    if not STREAM_NAME.match(name):
        raise InvalidRecord("stream: 1-64 letters, digits, '-' or '_'", field="stream")
    return name


def parse_body(body: Any, received_at: datetime) -> list[Record]:
    """One record (a JSON object of scalars) or `{"records": [...]}` of them."""
    if isinstance(body, dict) and isinstance(body.get("records"), list):
        items = body["records"]
        if set(body) != {"records"}:
            extra = sorted(set(body) - {"records"})[0]
            raise InvalidRecord(f"{extra}: not accepted beside records", field=extra)
        if not 1 <= len(items) <= MAX_RECORDS:
            raise InvalidRecord(f"records: 1 to {MAX_RECORDS} records", field="records")
        return [_record(item, received_at, f"records[{i}].") for i, item in enumerate(items)]
    return [_record(body, received_at, "")]


def _record(item: Any, received_at: datetime, where: str) -> Record:
    if not isinstance(item, dict) or not item:
        raise InvalidRecord(
            f"{where or 'body'}: a record is a non-empty JSON object of scalar fields",
            field=where.rstrip(".") or "body",
        )
    for name, value in item.items():
        if not FIELD_NAME.match(name) or name in RESERVED:
            raise InvalidRecord(
                f"{where}{name!r}: field names are 1-128 printable characters, not"
                f" {sorted(RESERVED)}",
                field=f"{where}{name}",
            )
        if isinstance(value, dict | list):
            raise InvalidRecord(
                f"{where}{name}: values must be strings, numbers, booleans or null",
                field=f"{where}{name}",
            )
    return Record(received_at, item)


def cell(value: Scalar, guard_formulas: bool) -> str:
    """A value as its CSV cell text (quoting is the csv writer's job)."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return orjson.dumps(value).decode()  # 0.1 stays 0.1; never 'nan' (JSON has none)
    if guard_formulas and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def row(record: Record, columns: list[str], guard_formulas: bool) -> list[str]:
    """`received_at`, the stream's columns in order, and `extra`: a JSON object of the
    fields the header does not have (so no column ever shifts)."""
    known = set(columns)
    extra: JSONObject = {k: v for k, v in record.fields.items() if k not in known}
    return [
        format_time(record.received_at) or "",
        *(cell(record.fields.get(name), guard_formulas) for name in columns),
        orjson.dumps(extra).decode() if extra else "",
    ]


def header(columns: list[str]) -> list[str]:
    return [RECEIVED_AT, *columns, EXTRA]
