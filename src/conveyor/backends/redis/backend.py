"""The scale-out backend: tasks in one Redis or Valkey server, shared by every node.

Every change that touches more than one key runs as one Lua script (see lua/), so it is
atomic; idle workers sleep on pub/sub and re-check storage when woken.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from conveyor.backends.base import (
    LEASE_EXPIRED,
    TOTAL_EVENTS,
    Backend,
    Duration,
    LeaseState,
    Outcome,
    OutcomeKind,
    Page,
    Renewal,
    Stats,
    StatusChange,
    TaskFilter,
    WorkerRecord,
)
from conveyor.backends.encoding import dumps, from_micros, micros
from conveyor.backends.redis.blocking import BlockingClient
from conveyor.backends.redis.codec import (
    FIELDS,
    fields_task,
    pairs_to_dict,
    task_fields,
    values_task,
)
from conveyor.backends.redis.connection import (
    CLIENT_OPTIONS,
    parse_redis_url,
    unavailable_on_error,
)
from conveyor.backends.redis.events import Events
from conveyor.backends.redis.scripts import Scripts
from conveyor.backends.waiters import Waiters, wait_armed, wait_until_final
from conveyor.errors import BackendUnavailable
from conveyor.task import JSONObject, Status, Task, utcnow

_LIST_CHUNK = 200


class RedisBackend(Backend):
    """Tasks in Redis/Valkey; any number of API and worker nodes may share one server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client_url, self.prefix = parse_redis_url(url)
        self._waiters = Waiters()
        self._client: Redis | None = None
        self._scripts: Scripts | None = None
        self._events: Events | None = None
        self._blocking: BlockingClient | None = None
        self._blocking_lock = threading.Lock()

    def _key(self, name: str) -> str:
        return self.prefix + name

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise BackendUnavailable(self.url, "the backend is not open")
        return self._client

    @property
    def scripts(self) -> Scripts:
        if self._scripts is None:
            raise BackendUnavailable(self.url, "the backend is not open")
        return self._scripts

    async def _command(self, *args: str | bytes | int) -> Any:
        """One Redis command, its reply parsed as redis-py parses it (typed loosely:
        redis-py's own annotations mix its sync and async clients)."""
        return await self.client.execute_command(*args)  # type: ignore[no-untyped-call]

    async def open(self) -> None:
        if self._client is not None:
            return
        client = Redis.from_url(self._client_url, **CLIENT_OPTIONS)
        with unavailable_on_error(self.url):
            try:
                await client.execute_command("PING")  # type: ignore[no-untyped-call]
            except BaseException:
                await client.aclose()
                raise
        self._client = client
        self._scripts = Scripts.register(client)
        self._events = Events(client, self._key("events"), self._key("finals"), self._waiters)

    async def close(self) -> None:
        self._waiters.wake_all()
        if self._events is not None:
            await self._events.close()
        if self._client is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._client.aclose()
        with self._blocking_lock:
            if self._blocking is not None:
                self._blocking.close()
        self._client = self._scripts = self._events = self._blocking = None

    async def ping(self) -> None:
        # A data read, not PING: Redis answers PING while it is still loading its data.
        with unavailable_on_error(self.url):
            await self._command("EXISTS", self._key("counts"))

    async def diagnostics(self) -> JSONObject:
        with unavailable_on_error(self.url):
            server = await self.client.info("server")
            persistence = await self.client.info("persistence")
        return {
            "kind": "valkey" if "valkey_version" in server else "redis",
            "server_version": server.get("valkey_version") or server.get("redis_version"),
            "key_prefix": self.prefix,
            "aof_enabled": bool(persistence.get("aof_enabled")),
            "loading": bool(persistence.get("loading")),
        }

    async def submit(self, tasks: Sequence[Task]) -> list[Task]:
        if not tasks:
            return []
        with unavailable_on_error(self.url):
            ids = await self.scripts.submit(args=self._submit_args(tasks))
        self._waiters.notify_work()
        existing = _already_stored(ids, tasks)
        found = dict(zip(existing, await self.get(existing), strict=True)) if existing else {}
        return _as_stored(ids, tasks, found)

    def submit_blocking(self, tasks: Sequence[Task]) -> list[Task]:
        if not tasks:
            return []
        with unavailable_on_error(self.url):
            blocking = self._blocking_client()
            ids = blocking.submit(self._submit_args(tasks))
            self._waiters.notify_work()
            existing = _already_stored(ids, tasks)
            keys = [self._key(f"task:{task_id}") for task_id in existing]
            found = dict(zip(existing, blocking.get(keys), strict=True)) if existing else {}
        return _as_stored(ids, tasks, found)

    def _blocking_client(self) -> BlockingClient:
        if self._client is None:
            raise BackendUnavailable(self.url, "the backend is not open")
        with self._blocking_lock:
            if self._blocking is None:
                self._blocking = BlockingClient(self._client_url, CLIENT_OPTIONS)
            return self._blocking

    def _submit_args(self, tasks: Sequence[Task]) -> list[str | int | bytes]:
        return [self.prefix, _now_us(), *(orjson.dumps(task_fields(task)) for task in tasks)]

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
        args: list[str | int] = [
            self.prefix,
            now_us,
            now_us + int(lease_s * 1_000_000),
            secrets.token_hex(8),
            worker_id,
            limit,
            len(queues),
            len(types),
            *queues,
            *types,
            *FIELDS,
        ]
        with unavailable_on_error(self.url):
            rows = await self.scripts.claim(args=args)
        return [values_task(row) for row in rows]

    async def extend(
        self, renewals: Sequence[Renewal], lease_s: float, now: datetime
    ) -> list[LeaseState]:
        if not renewals:
            return []
        now_us = micros(now)
        blobs = [
            orjson.dumps(
                _without_none(
                    {
                        "id": r.task_id,
                        "token": r.lease_token,
                        "progress": None if r.progress is None else repr(r.progress),
                        "message": r.progress_message,
                    }
                )
            )
            for r in renewals
        ]
        args: list[str | int | bytes] = [
            self.prefix,
            now_us,
            now_us + int(lease_s * 1_000_000),
            *blobs,
        ]
        with unavailable_on_error(self.url):
            states = await self.scripts.extend(args=args)
        return [
            LeaseState(r.task_id, bool(held), bool(cancel))
            for r, (held, cancel) in zip(renewals, states, strict=True)
        ]

    async def finish(self, outcomes: Sequence[Outcome], now: datetime) -> list[bool]:
        if not outcomes:
            return []
        blobs = [
            orjson.dumps(
                _without_none(
                    {
                        "id": o.task_id,
                        "token": o.lease_token,
                        "kind": o.kind.value,
                        "result": None if o.result is None else dumps(o.result),
                        "error": o.error,
                        "traceback": o.traceback,
                        "run_at": None if o.run_at is None else str(micros(o.run_at)),
                    }
                )
            )
            for o in outcomes
        ]
        with unavailable_on_error(self.url):
            applied = [
                bool(flag)
                for flag in await self.scripts.finish(args=[self.prefix, micros(now), *blobs])
            ]
        requeued = {OutcomeKind.RETRY, OutcomeKind.RELEASE}
        if any(ok and o.kind in requeued for ok, o in zip(applied, outcomes, strict=True)):
            self._waiters.notify_work()
        self._waiters.notify_final(
            o.task_id
            for ok, o in zip(applied, outcomes, strict=True)
            if ok and o.kind not in requeued
        )
        return applied

    async def cancel(self, ids: Sequence[str], now: datetime) -> list[StatusChange | None]:
        return await self._transition("cancel", ids, now)

    async def retry(self, ids: Sequence[str], now: datetime) -> list[StatusChange | None]:
        return await self._transition("retry", ids, now)

    async def _transition(
        self, action: str, ids: Sequence[str], now: datetime
    ) -> list[StatusChange | None]:
        if not ids:
            return []
        with unavailable_on_error(self.url):
            rows = await self.scripts.transition(args=[self.prefix, micros(now), action, *ids])
        changes = [
            StatusChange(fields_task(pairs_to_dict(row[1:])), Status(row[0])) if row else None
            for row in rows
        ]
        self._waiters.notify_work()
        self._waiters.notify_final(c.task.id for c in changes if c and c.task.status.is_final)
        return changes

    async def get(self, ids: Sequence[str]) -> list[Task | None]:
        if not ids:
            return []
        with unavailable_on_error(self.url):
            async with self.client.pipeline(transaction=False) as pipe:
                for task_id in ids:
                    pipe.hgetall(self._key(f"task:{task_id}"))
                found = await pipe.execute()
        return [fields_task(fields) if fields else None for fields in found]

    async def stats(self) -> Stats:
        with unavailable_on_error(self.url):
            counts: dict[str, str] = await self._command("HGETALL", self._key("counts"))
            grown: dict[str, str] = await self._command("HGETALL", self._key("totals"))
        by_status = {status.value: 0 for status in Status}
        by_queue: dict[str, dict[str, int]] = {}
        for field, n in counts.items():
            queue, _, status = field.rpartition("|")
            by_status[status] += int(n)
            by_queue.setdefault(queue, {s.value: 0 for s in Status})[status] = int(n)
        totals = dict.fromkeys(TOTAL_EVENTS, 0)
        totals.update((event, int(n)) for event, n in grown.items())
        return Stats(by_status, by_queue, totals)

    async def durations(self, finished_since: datetime, limit: int) -> list[Duration]:
        fields = ("status", "run_at_us", "started_us", "finished_us")
        with unavailable_on_error(self.url):
            ids = await self._command(
                "ZREVRANGEBYSCORE", self._key("finished"), "+inf",
                f"({micros(finished_since)}", "LIMIT", 0, limit,
            )  # fmt: skip
            async with self.client.pipeline(transaction=False) as pipe:
                for task_id in ids:
                    pipe.hmget(self._key(f"task:{task_id}"), list(fields))
                rows = await pipe.execute()
        durations = []
        for status, run_at, started, finished in rows:
            if status in ("completed", "failed") and started and run_at and finished:
                wait_us, run_us = int(started) - int(run_at), int(finished) - int(started)
                durations.append(Duration(max(0, wait_us) / 1e6, max(0, run_us) / 1e6))
        return durations

    async def reap(self, now: datetime) -> int:
        with unavailable_on_error(self.url):
            return int(await self.scripts.recover(args=[self.prefix, micros(now), LEASE_EXPIRED]))

    async def reclaim(self, worker_ids: Sequence[str], why: str, now: datetime) -> int:
        if not worker_ids:
            return 0
        args: list[str | int] = [self.prefix, micros(now), why, *worker_ids]
        with unavailable_on_error(self.url):
            return int(await self.scripts.recover(args=args))

    async def purge(self, finished_before: datetime, limit: int) -> int:
        args: list[str | int] = [self.prefix, micros(finished_before), limit]
        with unavailable_on_error(self.url):
            return int(await self.scripts.purge(args=args))

    async def wait_for_work(self, queues: Sequence[str], timeout_s: float) -> None:
        if self._events is not None:
            await self._events.listen()
        armed = self._waiters.arm_work()
        try:
            with unavailable_on_error(self.url):
                due = await self.scripts.due(args=[self.prefix, *queues])
        except BaseException:
            self._waiters.disarm(armed)
            raise
        if due == "now":
            timeout_s = 0
        elif due is not None:
            timeout_s = min(timeout_s, max(0.0, int(due) / 1_000_000 - time.time()))
        await wait_armed(self._waiters, armed, timeout_s)

    async def wait_for_final(self, task_id: str, timeout_s: float) -> Task | None:
        if self._events is not None:
            await self._events.listen(finals=True)

        async def fetch() -> Task | None:
            [task] = await self.get([task_id])
            return task

        return await wait_until_final(self._waiters, task_id, timeout_s, fetch)

    async def record_worker(self, worker: WorkerRecord) -> None:
        record = {
            "id": worker.id,
            "node": worker.node,
            "pid": worker.pid,
            "started_us": micros(worker.started_at),
            "last_seen_us": micros(worker.last_seen),
            "threads": worker.threads,
            "info": worker.info,
        }
        with unavailable_on_error(self.url):
            await self._command("HSET", self._key("workers"), worker.id, orjson.dumps(record))

    async def remove_worker(self, worker_id: str) -> None:
        with unavailable_on_error(self.url):
            await self._command("HDEL", self._key("workers"), worker_id)

    async def workers(self) -> list[WorkerRecord]:
        with unavailable_on_error(self.url):
            stored: dict[str, str] = await self._command("HGETALL", self._key("workers"))
        records = [_worker_record(orjson.loads(blob)) for blob in stored.values()]
        day_ago = utcnow() - timedelta(days=1)
        stale = [r.id for r in records if r.last_seen < day_ago]
        if stale:
            with unavailable_on_error(self.url):
                await self._command("HDEL", self._key("workers"), *stale)
        live = [r for r in records if r.id not in stale]
        return sorted(live, key=lambda r: (r.started_at, r.id))

    async def list(self, filter: TaskFilter, cursor: str | None, limit: int) -> Page:
        """Newest first by id from the status index (or all ids), filtered by type and
        queue here; pages through the index in chunks until `limit + 1` match."""
        index = self._key(f"status:{filter.status.value}" if filter.status else "ids")
        upper = f"({cursor}" if cursor is not None else "+"
        matched: list[Task] = []
        with unavailable_on_error(self.url):
            while len(matched) <= limit:
                ids: list[str] = await self._command(
                    "ZREVRANGEBYLEX", index, upper, "-", "LIMIT", 0, _LIST_CHUNK
                )
                if not ids:
                    break
                for task in await self.get(ids):
                    if task is not None and _matches(task, filter):
                        matched.append(task)
                upper = f"({ids[-1]}"
                if len(ids) < _LIST_CHUNK:
                    break
        tasks = matched[:limit]
        return Page(tasks, tasks[-1].id if len(matched) > limit and tasks else None)


def _now_us() -> int:
    return int(time.time() * 1_000_000)


def _without_none(values: dict[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


def _already_stored(ids: Sequence[str], tasks: Sequence[Task]) -> list[str]:
    """The ids the submit script returned in place of a new task's (an idempotency key
    already stored)."""
    return [stored for stored, task in zip(ids, tasks, strict=True) if stored != task.id]


def _as_stored(
    ids: Sequence[str], tasks: Sequence[Task], found: dict[str, Task | None]
) -> list[Task]:
    return [
        task if stored == task.id else _known(found[stored], stored)
        for stored, task in zip(ids, tasks, strict=True)
    ]


def _known(task: Task | None, task_id: str) -> Task:
    if task is None:  # purged between the submit and this read
        raise BackendUnavailable("redis", f"task {task_id} vanished while being read")
    return task


def _matches(task: Task, filter: TaskFilter) -> bool:
    return (filter.type is None or task.type == filter.type) and (
        filter.queue is None or task.queue == filter.queue
    )


def _worker_record(record: dict[str, Any]) -> WorkerRecord:
    return WorkerRecord(
        id=str(record["id"]),
        node=str(record["node"]),
        pid=int(record["pid"]),
        started_at=from_micros(int(record["started_us"])),
        last_seen=from_micros(int(record["last_seen_us"])),
        threads=list(record["threads"]),
        info=dict(record["info"]),
    )
