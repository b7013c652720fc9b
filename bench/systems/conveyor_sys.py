"""Conveyor on its embedded SQLite backend (synchronous=FULL or NORMAL) and on Redis."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import redis

import conveyor
from bench.systems.base import BIN, System, Workload
from bench.systems.conveyor_app import build
from conveyor.backends.redis import parse_redis_url

CHUNK = 1000


class ConveyorSQLite(System):
    has_bulk = True

    def __init__(self, synchronous: str = "FULL") -> None:
        self.synchronous = synchronous
        self.name = f"conveyor-sqlite-{synchronous.lower()}"
        self.durability = (
            "fsync per commit: survives power loss"
            if synchronous == "FULL"
            else "survives a crash; a power cut may lose the last commits"
        )
        self.folder = Path(tempfile.mkdtemp(prefix="conveyor-bench-"))
        self.url = f"sqlite:///{self.folder / 'bench.db'}?synchronous={synchronous}"
        self.app: conveyor.App | None = None

    def open(self) -> None:
        self.clear()

    def close(self) -> None:
        if self.app is not None:
            self.app.close()
            self.app = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def clear(self) -> None:
        if self.app is not None:
            self.app.close()
        for path in self.folder.glob("bench.db*"):
            path.unlink()
        self.app = build(self.url)

    def enqueue(self, kind: str, args: dict[str, Any]) -> None:
        assert self.app is not None
        self.app.submit(kind, **args)

    def enqueue_many(self, kind: str, args: list[dict[str, Any]]) -> None:
        assert self.app is not None
        for start in range(0, len(args), CHUNK):
            self.app.submit_many(kind, args[start : start + CHUNK])

    def worker_commands(self, workload: Workload) -> list[list[str]]:
        threads = "50" if workload == "io" else "8"
        return [
            [
                str(BIN / "conveyor"),
                "worker",
                "--backend",
                self.url,
                "--processes",
                "0",
                "--threads",
                threads,
                "--app",
                "bench.systems.conveyor_app:app",
            ]
        ]

    def worker_env(self) -> dict[str, str]:
        return {"CONVEYOR_BACKEND": self.url}


class ConveyorRedis(ConveyorSQLite):
    """Conveyor on the machine's Redis (db 15, its own key prefix), two worker processes:
    unlike one SQLite file, Redis takes writers from several processes at once."""

    WORKER_PROCESSES = 2

    def __init__(self, url: str = "redis://127.0.0.1:6379/15?prefix=bench-conveyor") -> None:
        super().__init__()
        self.name = "conveyor-redis"
        self.durability = "as the Redis server persists (here: none; see README)"
        self.url = url

    def clear(self) -> None:
        if self.app is not None:
            self.app.close()
        client_url, prefix = parse_redis_url(self.url)
        with redis.Redis.from_url(client_url) as client:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
        self.app = build(self.url)

    def worker_commands(self, workload: Workload) -> list[list[str]]:
        return super().worker_commands(workload) * self.WORKER_PROCESSES
