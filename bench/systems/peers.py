"""The peers on the machine's Redis, each on a db number of its own."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import redis

from bench.systems.base import BIN, REDIS, System, Workload

AOF_NOTE = "Redis as the machine runs it (no persistence: a Redis restart loses the queue)"


def _flush(db: int) -> None:
    redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()


class Huey(System):
    name, durability = "huey", AOF_NOTE

    def clear(self) -> None:
        _flush(11)

    def enqueue(self, kind: str, args: dict[str, Any]) -> None:
        getattr(importlib.import_module("bench.systems.huey_app"), kind)(**args)

    def worker_commands(self, workload: Workload) -> list[list[str]]:
        kind = ["-w", "50", "-k", "thread"] if workload == "io" else ["-w", "8", "-k", "process"]
        return [[str(BIN / "huey_consumer"), "bench.systems.huey_app.huey", *kind, "-q"]]


class Dramatiq(System):
    name, durability = "dramatiq", AOF_NOTE

    def clear(self) -> None:
        _flush(12)

    def enqueue(self, kind: str, args: dict[str, Any]) -> None:
        getattr(importlib.import_module("bench.systems.dramatiq_app"), kind).send(**args)

    def worker_commands(self, workload: Workload) -> list[list[str]]:
        processes, threads = ("2", "25") if workload == "io" else ("4", "16")
        return [
            [str(BIN / "dramatiq"), "bench.systems.dramatiq_app", "-p", processes, "-t", threads]
        ]


class RQ(System):
    name, durability, has_bulk = "rq", AOF_NOTE, True

    def open(self) -> None:
        from rq import Queue

        self.queue = Queue("bench", connection=redis.Redis(host="127.0.0.1", port=6379, db=13))

    def clear(self) -> None:
        _flush(13)

    def enqueue(self, kind: str, args: dict[str, Any]) -> None:
        from bench import probe

        self.queue.enqueue(getattr(probe, kind), **args)

    def enqueue_many(self, kind: str, args: list[dict[str, Any]]) -> None:
        from rq import Queue

        from bench import probe

        func = getattr(probe, kind)
        for start in range(0, len(args), 1000):
            self.queue.enqueue_many(
                [Queue.prepare_data(func, kwargs=one) for one in args[start : start + 1000]]
            )

    def worker_commands(self, workload: Workload) -> list[list[str]]:
        count = 16 if workload == "io" else 4
        return [
            [
                str(BIN / "rq"),
                "worker",
                "bench",
                "--url",
                f"{REDIS}/13",
                "--worker-class",
                "rq.worker.SimpleWorker",
                "-q",
            ]
        ] * count


class Celery(System):
    name, durability = "celery", AOF_NOTE

    def clear(self) -> None:
        from bench.systems.celery_app import CELERY_DB

        _flush(CELERY_DB)

    def enqueue(self, kind: str, args: dict[str, Any]) -> None:
        getattr(importlib.import_module("bench.systems.celery_app"), kind).delay(**args)

    def worker_commands(self, workload: Workload) -> list[list[str]]:
        pool = ["-P", "threads", "-c", "50"] if workload == "io" else ["-P", "prefork", "-c", "2"]
        return [
            [
                str(BIN / "celery"),
                "-A",
                "bench.systems.celery_app",
                "worker",
                *pool,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "warning",
            ]
        ]


class _AsyncPeer(System):
    """A peer whose client is async: one private event loop drives it."""

    def open(self) -> None:
        self.loop = asyncio.new_event_loop()

    def close(self) -> None:
        self.loop.close()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)


class Arq(_AsyncPeer):
    name, durability = "arq", AOF_NOTE

    def open(self) -> None:
        super().open()
        from arq import create_pool

        from bench.systems.async_apps import ArqWorker

        self.pool = self.run(create_pool(ArqWorker.redis_settings))

    def close(self) -> None:
        self.run(self.pool.aclose())
        super().close()

    def clear(self) -> None:
        _flush(10)

    def enqueue(self, kind: str, args: dict[str, Any]) -> None:
        self.run(self.pool.enqueue_job(kind, **args))

    def worker_commands(self, workload: Workload) -> list[list[str]]:
        return [[str(BIN / "arq"), "bench.systems.async_apps.ArqWorker"]] * 2


class Saq(_AsyncPeer):
    name, durability = "saq", AOF_NOTE

    def open(self) -> None:
        super().open()
        from bench.systems.async_apps import saq_queue

        self.queue = saq_queue
        self.run(self.queue.connect())

    def close(self) -> None:
        self.run(self.queue.disconnect())
        super().close()

    def clear(self) -> None:
        _flush(9)

    def enqueue(self, kind: str, args: dict[str, Any]) -> None:
        self.run(self.queue.enqueue(kind, **args))

    def worker_commands(self, workload: Workload) -> list[list[str]]:
        return [[str(BIN / "saq"), "bench.systems.async_apps.saq_settings", "--workers", "2"]]
