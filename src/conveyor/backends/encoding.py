"""How backends store values: times as integer microseconds since the epoch, JSON as text."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import orjson


def micros(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def micros_opt(value: datetime | None) -> int | None:
    return None if value is None else micros(value)


def from_micros_opt(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


@functools.lru_cache(maxsize=4096)
def from_micros(value: int) -> datetime:
    # Cached: a claimed batch shares its started, updated and lease times, and tasks
    # submitted together share their created and run times (a hit is 5x cheaper).
    return datetime.fromtimestamp(value / 1_000_000, UTC)


def dumps(value: object) -> str:
    return orjson.dumps(value).decode()
