"""The dashboard's time series: one point a second, sampled from the backend's totals and
recent durations, kept in a small SQLite table (bounded) so charts survive a restart."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import orjson

from conveyor.backends.base import Backend, Duration, Stats
from conveyor.errors import BackendUnavailable
from conveyor.task import JSONObject, utcnow

logger = logging.getLogger(__name__)

RATES = ("submitted", "completed", "failed")
WINDOW_S = 60.0
"""Percentiles are over the tasks that finished in this last stretch."""
MAX_DURATIONS = 2000


class HistoryStore:
    """Points by time in one table; older than `keep_s` are deleted as new ones come."""

    def __init__(self, path: Path, keep_s: float = 2 * 3600) -> None:
        self.path = path
        self.keep_s = keep_s
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")  # a lost second of chart is fine
            connection.execute(
                "CREATE TABLE IF NOT EXISTS points (t REAL PRIMARY KEY, data BLOB NOT NULL)"
            )
            self._connection = connection
        return self._connection

    def append(self, point: JSONObject) -> None:
        with self._lock, self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?)", (point["t"], orjson.dumps(point))
            )
            db.execute("DELETE FROM points WHERE t < ?", (point["t"] - self.keep_s,))

    def read(self, seconds: float) -> list[JSONObject]:
        with self._lock:
            rows = self._db().execute(
                "SELECT data FROM points WHERE t >= ? ORDER BY t", (time.time() - seconds,)
            )
            return [orjson.loads(data) for (data,) in rows]

    def last(self) -> JSONObject | None:
        with self._lock:
            row = self._db().execute("SELECT data FROM points ORDER BY t DESC LIMIT 1").fetchone()
        return orjson.loads(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return round(sorted_values[index], 6)


def make_point(
    now: float, stats: Stats, durations: list[Duration], previous: JSONObject | None
) -> JSONObject:
    """A point: rates from the totals' growth since `previous` (over however long the
    gap was, e.g. a restart), depth now, and wait/run percentiles."""
    point: JSONObject = {"t": round(now, 3)}
    gap = now - previous["t"] if previous else 0.0
    for event in RATES:
        grown = stats.totals.get(event, 0) - (previous or {}).get("totals", {}).get(event, 0)
        point[event] = round(max(0, grown) / gap, 3) if previous and gap > 0 else 0.0
    point["pending"] = stats.by_status.get("pending", 0)
    point["processing"] = stats.by_status.get("processing", 0)
    for kind, values in (
        ("wait", sorted(d.wait_s for d in durations)),
        ("run", sorted(d.run_s for d in durations)),
    ):
        for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            point[f"{kind}_{name}"] = percentile(values, fraction)
    point["totals"] = dict(stats.totals)
    return point


class Sampler:
    """Takes a point every `interval_s` (whether or not anyone watches, so the history
    has no holes), stores it, and hands it to `on_point`."""

    def __init__(self, backend: Backend, store: HistoryStore, interval_s: float = 1.0) -> None:
        self.backend = backend
        self.store = store
        self.interval_s = interval_s
        self.latest: JSONObject | None = None
        self.counts: dict[str, int] = {}
        self.on_point: Callable[[JSONObject], Awaitable[None]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.latest = await asyncio.to_thread(self.store.last)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.to_thread(self.store.close)

    async def sample(self) -> JSONObject:
        stats = await self.backend.stats()
        since = utcnow() - timedelta(seconds=WINDOW_S)
        durations = await self.backend.durations(since, MAX_DURATIONS)
        point = make_point(time.time(), stats, durations, self.latest)
        await asyncio.to_thread(self.store.append, point)
        self.latest = point
        self.counts = dict(stats.by_status)
        return point

    async def _run(self) -> None:
        next_at = time.monotonic()
        while True:
            next_at += self.interval_s
            try:
                point = await self.sample()
                if self.on_point is not None:
                    await self.on_point(point)
            except BackendUnavailable as exc:
                logger.warning("dashboard sample skipped", extra={"error": exc.message})
            except Exception:
                logger.exception("dashboard sample failed")
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
