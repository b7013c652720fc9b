"""Worker records as SQLite rows: the jobs that record, remove and list them."""

from __future__ import annotations

import sqlite3

import orjson

from conveyor.backends.base import WorkerRecord
from conveyor.backends.encoding import dumps, from_micros, micros
from conveyor.backends.sqlite.thread import Changes, Job

_DAY_US = 86_400_000_000
_UPSERT = (
    "INSERT INTO workers (id, node, pid, started_us, last_seen_us, threads, info)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
    " last_seen_us = excluded.last_seen_us, threads = excluded.threads, info = excluded.info"
)
_SELECT = (
    "SELECT id, node, pid, started_us, last_seen_us, threads, info FROM workers"
    " ORDER BY started_us, id"
)


def recording(worker: WorkerRecord) -> Job[None]:
    """The writer job for `Backend.record_worker`: upsert one record and forget records
    silent for a day."""
    row = (
        worker.id,
        worker.node,
        worker.pid,
        micros(worker.started_at),
        micros(worker.last_seen),
        dumps(worker.threads),
        dumps(worker.info),
    )
    day_ago = micros(worker.last_seen) - _DAY_US

    def upsert(c: sqlite3.Connection, _: Changes) -> None:
        c.execute(_UPSERT, row)
        c.execute("DELETE FROM workers WHERE last_seen_us < ?", (day_ago,))

    return upsert


def removing(worker_id: str) -> Job[None]:
    """The writer job for `Backend.remove_worker`."""

    def remove(c: sqlite3.Connection, _: Changes) -> None:
        c.execute("DELETE FROM workers WHERE id = ?", (worker_id,))

    return remove


def read_workers(c: sqlite3.Connection, _: Changes) -> list[WorkerRecord]:
    """The reader job for `Backend.workers`, oldest first."""
    return [
        WorkerRecord(
            id=r[0],
            node=r[1],
            pid=r[2],
            started_at=from_micros(r[3]),
            last_seen=from_micros(r[4]),
            threads=orjson.loads(r[5]),
            info=orjson.loads(r[6]),
        )
        for r in c.execute(_SELECT).fetchall()
    ]
