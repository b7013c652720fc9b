"""The embedded backend: one SQLite file in WAL mode, written by one group-committing thread."""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson

from conveyor.backends.base import (
    LEASE_EXPIRED,
    TOTAL_EVENTS,
    Backend,
    Duration,
    LeaseState,
    Outcome,
    Page,
    Renewal,
    Stats,
    StatusChange,
    TaskFilter,
    WorkerRecord,
)
from conveyor.backends.encoding import micros
from conveyor.backends.sqlite.batches import BACK_TO_PENDING, CLAIMED, FINISH, HELD, outcome_values
from conveyor.backends.sqlite.inserts import inserting
from conveyor.backends.sqlite.notify import Broadcast, notify_dir
from conveyor.backends.sqlite.rows import COLUMNS, placeholders, row_to_task
from conveyor.backends.sqlite.thread import Changes, DbThread, WriterBusy
from conveyor.backends.sqlite.workers import read_workers, recording, removing
from conveyor.backends.waiters import Waiters, wait_armed, wait_until_final
from conveyor.errors import BackendUnavailable, InvalidTask
from conveyor.task import JSONObject, Status, Task

_SYNCHRONOUS = {"OFF", "NORMAL", "FULL", "EXTRA"}
_INLINE_MOST_TASKS = 256
"""Bigger submits commit on the writer thread even when they could on the caller's event
loop, which would stop for their whole INSERT (about 10 us a task)."""


def parse_sqlite_url(url: str) -> tuple[Path, str]:
    """`sqlite:///relative.db`, `sqlite:////abs/path.db`, `?synchronous=NORMAL`."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.path.startswith("/") or len(parts.path) < 2:
        raise InvalidTask(f"not a SQLite URL: {url!r} (use sqlite:///file.db)", field="backend")
    options = parse_qs(parts.query)
    synchronous = options.get("synchronous", ["FULL"])[0].upper()
    if synchronous not in _SYNCHRONOUS:
        raise InvalidTask(
            f"synchronous must be one of {sorted(_SYNCHRONOUS)}, not {synchronous!r}",
            field="backend",
        )
    return Path(parts.path[1:]), synchronous


class SQLiteBackend(Backend):
    """Tasks in one SQLite file; safe to share between processes on one machine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path, self.synchronous = parse_sqlite_url(url)
        self._waiters = Waiters()
        self._broadcast = Broadcast(notify_dir(self.path), self._waiters)
        wal = self.path.with_name(self.path.name + "-wal")
        self._writer = DbThread(
            url,
            self._connect,
            "conveyor-sqlite-writer",
            transactional=True,
            on_commit=lambda changes: self._broadcast.publish(changes.work, changes.final_ids),
            synchronous=self.synchronous,
            wal=wal,
        )
        self._reader = DbThread(
            url, self._connect, "conveyor-sqlite-reader", transactional=False, wal=wal
        )
        self._opened = False

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            timeout=30,
            cached_statements=256,
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={self.synchronous}")
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("PRAGMA temp_store=MEMORY")
        connection.execute("PRAGMA cache_size=-65536")
        return connection

    async def open(self) -> None:
        if self._opened:
            return
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        schema = resources.files("conveyor.backends.sqlite").joinpath("schema.sql").read_text()
        try:
            connection = self._connect()
            try:
                connection.executescript(schema)
            finally:
                connection.close()
            self._writer.start()
            self._reader.start()
        except sqlite3.Error as exc:
            raise BackendUnavailable(self.url, str(exc)) from exc
        self._opened = True

    async def close(self) -> None:
        self._waiters.wake_all()
        self._writer.stop()
        self._reader.stop()
        self._broadcast.close()
        self._opened = False

    async def ping(self) -> None:
        await self._reader.run(lambda c, _: c.execute("SELECT 1").fetchone())

    async def diagnostics(self) -> JSONObject:
        def read(c: sqlite3.Connection, _: Changes) -> JSONObject:
            return {
                "kind": "sqlite",
                "server_version": sqlite3.sqlite_version,
                "file": str(self.path.resolve()),
                "journal_mode": c.execute("PRAGMA journal_mode").fetchone()[0],
                "synchronous": self.synchronous,
                "size_bytes": self.path.stat().st_size,
            }

        return await self._reader.run(read)

    async def submit(self, tasks: Sequence[Task]) -> list[Task]:
        job = inserting(tasks)
        if len(tasks) <= _INLINE_MOST_TASKS:
            try:
                return await self._writer.run_inline_synced(job)
            except WriterBusy:
                pass
        return await self._writer.run(job)

    def submit_blocking(self, tasks: Sequence[Task]) -> list[Task]:
        return self._writer.run_here(inserting(tasks))

    async def claim(
        self,
        worker_id: str,
        queues: Sequence[str],
        types: Sequence[str],
        limit: int,
        lease_s: float,
        now: datetime,
    ) -> list[Task]:
        if limit <= 0 or not queues or not types:
            return []
        now_us = micros(now)
        token = secrets.token_hex(8)
        expires_us = now_us + int(lease_s * 1_000_000)
        update = (
            "UPDATE tasks SET status = 'processing', attempts = attempts + 1, lease_token = ?,"
            " lease_expires_us = ?, handled_by = ?, started_us = ?, updated_us = ?"
            " WHERE id IN (SELECT id FROM tasks INDEXED BY tasks_claim WHERE status = 'pending'"
            f" AND queue IN ({placeholders(len(queues))}) AND run_at_us <= ?"
            f" AND type IN ({placeholders(len(types))})"
            " ORDER BY priority DESC, id LIMIT ?)"
        )
        params = (token, expires_us, worker_id, now_us, now_us, *queues, now_us, *types, limit)

        def take(c: sqlite3.Connection, _: Changes) -> list[Task]:
            if c.execute(update, params).rowcount == 0:
                return []
            # One JSON value for every claimed row (see batches.py: rows fetched one by
            # one each cost a GIL round trip).
            [claimed] = c.execute(CLAIMED, (expires_us, token)).fetchone()
            return [row_to_task(row) for row in orjson.loads(claimed)]

        # A claim lost to a power cut leaves the task pending, as if never claimed.
        try:
            tasks = self._writer.run_inline(take, durable=False)
        except WriterBusy:
            tasks = await self._writer.run(take, durable=False)
        tasks.sort(key=lambda task: (-task.priority, task.id))
        return tasks

    async def extend(
        self, renewals: Sequence[Renewal], lease_s: float, now: datetime
    ) -> list[LeaseState]:
        now_us = micros(now)
        expires = now_us + int(lease_s * 1_000_000)
        sql = (
            "UPDATE tasks SET lease_expires_us = ?,"
            " progress = coalesce(?, progress), progress_message = coalesce(?, progress_message),"
            " updated_us = CASE WHEN ? IS NULL THEN updated_us ELSE ? END"
            " WHERE id = ? AND lease_token = ? AND status = 'processing'"
            " RETURNING cancel_requested"
        )

        def renew(c: sqlite3.Connection, _: Changes) -> list[LeaseState]:
            states = []
            for r in renewals:
                row = c.execute(
                    sql,
                    (
                        expires,
                        r.progress,
                        r.progress_message,
                        r.progress,
                        now_us,
                        r.task_id,
                        r.lease_token,
                    ),
                ).fetchone()
                states.append(LeaseState(r.task_id, row is not None, bool(row and row[0])))
            return states

        return await self._writer.run(renew, durable=False)

    async def finish(self, outcomes: Sequence[Outcome], now: datetime) -> list[bool]:
        now_us = micros(now)
        # One statement for the whole batch (see claim: each statement costs a GIL
        # round trip); a task's second outcome in one batch is refused, as it would be
        # after the first released its lease.
        first: dict[str, Outcome] = {}
        for o in outcomes:
            first.setdefault(o.task_id, o)
        batch = orjson.dumps([outcome_values(o, now_us) for o in first.values()])

        def record(c: sqlite3.Connection, changes: Changes) -> list[bool]:
            [held_json] = c.execute(HELD, (batch,)).fetchone()
            held = set(orjson.loads(held_json))
            if held:
                c.execute(FINISH, (now_us, now_us, batch))
            for task_id in held:
                if first[task_id].kind in BACK_TO_PENDING:
                    changes.work = True
                else:
                    changes.final_ids.append(task_id)
            return [o.task_id in held and first[o.task_id] is o for o in outcomes]

        return await self._writer.run(record)

    async def cancel(self, ids: Sequence[str], now: datetime) -> list[StatusChange | None]:
        def cancel(
            c: sqlite3.Connection, task_id: str, previous: Status, now_us: int, changes: Changes
        ) -> None:
            if previous is Status.PENDING:
                c.execute(
                    "UPDATE tasks SET status = 'canceled', finished_us = ?, updated_us = ?"
                    " WHERE id = ?",
                    (now_us, now_us, task_id),
                )
                changes.final_ids.append(task_id)
            elif previous is Status.PROCESSING:
                c.execute(
                    "UPDATE tasks SET cancel_requested = 1, updated_us = ? WHERE id = ?",
                    (now_us, task_id),
                )

        return await self._transition(ids, now, cancel)

    async def retry(self, ids: Sequence[str], now: datetime) -> list[StatusChange | None]:
        def retry(
            c: sqlite3.Connection, task_id: str, previous: Status, now_us: int, changes: Changes
        ) -> None:
            if previous in (Status.FAILED, Status.CANCELED):
                c.execute(
                    "UPDATE tasks SET status = 'pending', attempts = 0, run_at_us = ?,"
                    " result = NULL, finished_us = NULL, started_us = NULL,"
                    " cancel_requested = 0, progress = NULL, progress_message = NULL,"
                    " updated_us = ? WHERE id = ?",
                    (now_us, now_us, task_id),
                )
                changes.work = True

        return await self._transition(ids, now, retry)

    async def _transition(
        self,
        ids: Sequence[str],
        now: datetime,
        apply: Callable[[sqlite3.Connection, str, Status, int, Changes], None],
    ) -> list[StatusChange | None]:
        """Read each task's status, let `apply` change it, and return it as it is after;
        all in one transaction, so nothing changes the task in between."""
        now_us = micros(now)

        def transition(c: sqlite3.Connection, changes: Changes) -> list[StatusChange | None]:
            outcomes: list[StatusChange | None] = []
            for task_id in ids:
                row = c.execute("SELECT status FROM tasks WHERE id = ?", (task_id,)).fetchone()
                if row is None:
                    outcomes.append(None)
                    continue
                previous = Status(row[0])
                apply(c, task_id, previous, now_us, changes)
                after = c.execute(f"SELECT {COLUMNS} FROM tasks WHERE id = ?", (task_id,))
                outcomes.append(StatusChange(row_to_task(after.fetchone()), previous))
            return outcomes

        return await self._writer.run(transition)

    async def get(self, ids: Sequence[str]) -> list[Task | None]:
        if not ids:
            return []
        sql = f"SELECT {COLUMNS} FROM tasks WHERE id IN ({placeholders(len(ids))})"

        def fetch(c: sqlite3.Connection, _: Changes) -> list[Task | None]:
            found = {str(row[0]): row_to_task(row) for row in c.execute(sql, tuple(ids))}
            return [found.get(task_id) for task_id in ids]

        return await self._reader.run(fetch)

    async def stats(self) -> Stats:
        def fetch(c: sqlite3.Connection, _: Changes) -> Stats:
            by_status = {status.value: 0 for status in Status}
            by_queue: dict[str, dict[str, int]] = {}
            for queue, status, n in c.execute("SELECT queue, status, n FROM task_counts"):
                by_status[status] += n
                by_queue.setdefault(queue, {s.value: 0 for s in Status})[status] = n
            totals = dict.fromkeys(TOTAL_EVENTS, 0)
            totals.update(c.execute("SELECT event, n FROM task_totals"))
            return Stats(by_status, by_queue, totals)

        return await self._reader.run(fetch)

    async def durations(self, finished_since: datetime, limit: int) -> list[Duration]:
        def fetch(c: sqlite3.Connection, _: Changes) -> list[Duration]:
            rows = c.execute(
                "SELECT started_us - run_at_us, finished_us - started_us FROM tasks"
                " WHERE finished_us > ? AND status IN ('completed', 'failed')"
                " AND started_us IS NOT NULL ORDER BY finished_us DESC LIMIT ?",
                (micros(finished_since), limit),
            )
            return [Duration(max(0, wait) / 1e6, max(0, run) / 1e6) for wait, run in rows]

        return await self._reader.run(fetch)

    async def reap(self, now: datetime) -> int:
        now_us = micros(now)
        return await self._return_leased("lease_expires_us < ?", (now_us,), now_us, LEASE_EXPIRED)

    async def reclaim(self, worker_ids: Sequence[str], why: str, now: datetime) -> int:
        if not worker_ids:
            return 0
        return await self._return_leased(
            f"handled_by IN ({placeholders(len(worker_ids))})", tuple(worker_ids), micros(now), why
        )

    async def _return_leased(
        self, condition: str, params: tuple[object, ...], now_us: int, why: str
    ) -> int:
        """Processing tasks matching `condition` back to pending (or failed when out of
        attempts, or canceled when a cancel was requested)."""
        sql = (
            "UPDATE tasks SET"
            " status = CASE WHEN cancel_requested THEN 'canceled'"
            "   WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,"
            " error = CASE WHEN cancel_requested THEN error"
            "   ELSE ? || ' (attempt ' || attempts || ' of ' || max_attempts"
            "   || ', worker ' || coalesce(handled_by, '?') || ')' END,"
            " finished_us = CASE WHEN cancel_requested OR attempts >= max_attempts"
            "   THEN ? ELSE NULL END,"
            " lease_token = NULL, lease_expires_us = NULL, updated_us = ?"
            f" WHERE status = 'processing' AND {condition} RETURNING id, status"
        )

        def release(c: sqlite3.Connection, changes: Changes) -> int:
            rows = c.execute(sql, (why, now_us, now_us, *params)).fetchall()
            for task_id, status in rows:
                if status == Status.PENDING:
                    changes.work = True
                else:
                    changes.final_ids.append(task_id)
            return len(rows)

        return await self._writer.run(release)

    async def purge(self, finished_before: datetime, limit: int) -> int:
        sql = (
            "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks"
            " WHERE status IN ('completed', 'failed', 'canceled') AND finished_us < ?"
            " LIMIT ?)"
        )
        cutoff = micros(finished_before)
        return await self._writer.run(lambda c, _: c.execute(sql, (cutoff, limit)).rowcount)

    async def wait_for_work(self, queues: Sequence[str], timeout_s: float) -> None:
        self._broadcast.listen()
        armed = self._waiters.arm_work()
        sql = (
            "SELECT min(run_at_us) FROM tasks WHERE status = 'pending'"
            f" AND queue IN ({placeholders(len(queues))})"
        )
        try:
            row = await self._reader.run(lambda c, _: c.execute(sql, tuple(queues)).fetchone())
        except BaseException:
            self._waiters.disarm(armed)
            raise
        if row[0] is not None:
            timeout_s = min(timeout_s, max(0.0, row[0] / 1_000_000 - time.time()))
        await wait_armed(self._waiters, armed, timeout_s)

    async def wait_for_final(self, task_id: str, timeout_s: float) -> Task | None:
        self._broadcast.listen()

        async def fetch() -> Task | None:
            [task] = await self.get([task_id])
            return task

        return await wait_until_final(self._waiters, task_id, timeout_s, fetch)

    async def record_worker(self, worker: WorkerRecord) -> None:
        await self._writer.run(recording(worker), durable=False)

    async def remove_worker(self, worker_id: str) -> None:
        await self._writer.run(removing(worker_id))

    async def workers(self) -> list[WorkerRecord]:
        return await self._reader.run(read_workers)

    async def list(self, filter: TaskFilter, cursor: str | None, limit: int) -> Page:
        clauses, params = [], []
        for column, value in (
            ("status", filter.status),
            ("type", filter.type),
            ("queue", filter.queue),
            ("id <", cursor),
        ):
            if value is not None:
                clauses.append(f"{column} = ?" if " " not in column else f"{column} ?")
                params.append(str(value))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {COLUMNS} FROM tasks {where} ORDER BY id DESC LIMIT ?"

        def fetch(c: sqlite3.Connection, _: Changes) -> Page:
            rows = c.execute(sql, (*params, limit + 1)).fetchall()
            tasks = [row_to_task(row) for row in rows[:limit]]
            return Page(tasks, tasks[-1].id if len(rows) > limit and tasks else None)

        return await self._reader.run(fetch)
