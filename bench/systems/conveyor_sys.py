"""Conveyor on its embedded SQLite backend (synchronous=FULL or NORMAL), on the machine's
Redis (no persistence), and on a Redis of the harness's own with `appendfsync always`."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import redis

import conveyor
from bench.servers import Server, redis_server
from bench.systems.base import BIN, QUEUE_WORKLOADS, System, Workload
from bench.systems.conveyor_app import build
from conveyor.backends.redis import parse_redis_url

CHUNK = 1000


class ConveyorSQLite(System):
    """Two worker processes on one file: claims and finishes are a few batch statements
    each and a writer waits for the other's lock in sub-ms steps, so the second process
    runs handlers (the probe's Redis call) on the second core (see bench/README.md)."""

    has_bulk = True
    WORKER_PROCESSES = 2
    THREADS = "8"
    """Thread slots per process for drain and latency (the best of 8, 16, 32 and 64 here)."""

    def __init__(self, synchronous: str = "FULL") -> None:
        self.synchronous = synchronous
        self.name = f"conveyor-sqlite-{synchronous.lower()}"
        self.durability = (
            "SQLite `synchronous=FULL`: the WAL is fsync'd at every commit, before the"
            " acknowledgement; a power cut loses nothing acknowledged"
            if synchronous == "FULL"
            else "SQLite `synchronous=NORMAL`: survives a crash or kill -9; a power cut may"
            " lose the commits made since the WAL was last fsync'd (at a checkpoint)"
        )
        # HTTP on both (the price of FULL shows there too); memory once, on the default.
        extra = ("http", "memory") if synchronous == "FULL" else ("http",)
        self.workloads = (*QUEUE_WORKLOADS, *extra)
        # made by open(), so that a system left out of a run leaves nothing behind
        self.folder = Path(tempfile.gettempdir()) / f"conveyor-bench-{uuid.uuid4().hex[:12]}"
        self.url = f"sqlite:///{self.folder / 'bench'}.db?synchronous={synchronous}"
        self.app: conveyor.App | None = None

    def scratch_url(self, name: str) -> str:
        """A store of its own for one HTTP or memory run, like this system's main one."""
        return f"sqlite:///{self.folder / name}.db?synchronous={self.synchronous}"

    def forget(self, name: str) -> None:
        """Delete what a scratch store holds."""
        for path in self.folder.glob(f"{name}.db*"):
            path.unlink()

    def open(self) -> None:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        self.clear()

    def close(self) -> None:
        if self.app is not None:
            self.app.close()
            self.app = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def clear(self) -> None:
        if self.app is not None:
            self.app.close()
        self.forget("bench")
        self.app = build(self.url)

    def enqueue(self, kind: str, args: dict[str, Any]) -> None:
        assert self.app is not None
        self.app.submit(kind, **args)

    def enqueue_many(self, kind: str, args: list[dict[str, Any]]) -> None:
        assert self.app is not None
        for start in range(0, len(args), CHUNK):
            self.app.submit_many(kind, args[start : start + CHUNK])

    def worker_commands(self, workload: Workload) -> list[list[str]]:
        # io: 2 x 25 threads, so that about 50 tasks sleep at once
        threads = "25" if workload == "io" else self.THREADS
        command = [
            str(BIN / "conveyor"),
            "worker",
            "--backend",
            self.url,
            "--processes",
            "0",
            "--threads",
            threads,
            # Claims of up to 256 beyond the free slots: fewer, larger claims (the
            # best of 0, 64, 256 and 1,000 for no-op drains; see bench/README.md).
            "--prefetch",
            "256",
            "--app",
            "bench.systems.conveyor_app:app",
        ]
        return [command] * self.WORKER_PROCESSES

    def worker_env(self) -> dict[str, str]:
        return {"CONVEYOR_BACKEND": self.url}

    def config(self, workload: Workload) -> str:
        if workload == "http":
            return "conveyor serve --no-workers --backend <db>; wrk -t1 -c16|64 -s bench/wrk/..."
        if workload == "memory":
            return "CONVEYOR_RETENTION_SECONDS=5 conveyor serve --backend <db> (1 child per core)"
        return super().config(workload)


class ConveyorRedis(ConveyorSQLite):
    """Conveyor on the machine's Redis (db 15, its own key prefix). More threads than on
    SQLite: a handler's own Redis call (the probe's) waits behind the claim and finish
    scripts on the same server, and more slots keep more of those calls in flight."""

    THREADS = "32"

    def __init__(self, url: str = "redis://127.0.0.1:6379/15?prefix=bench-conveyor") -> None:
        super().__init__()
        self.name = "conveyor-redis"
        self.durability = (
            "the machine's Redis, no persistence (no AOF, no snapshots): a Redis restart"
            " or a power cut loses every task"
        )
        self.workloads = (*QUEUE_WORKLOADS, "http")
        self.url = url

    def scratch_url(self, name: str) -> str:
        client_url, _ = parse_redis_url(self.url)
        return f"{client_url}?prefix=bench-{name}"

    def forget(self, name: str) -> None:
        _delete_prefix(self.scratch_url(name))

    def clear(self) -> None:
        if self.app is not None:
            self.app.close()
        _delete_prefix(self.url)
        self.app = build(self.url)

    def close(self) -> None:
        super().close()
        _delete_prefix(self.url)


def _delete_prefix(url: str) -> None:
    """Delete the keys under a Redis backend URL's prefix, and no others."""
    client_url, prefix = parse_redis_url(url)
    with redis.Redis.from_url(client_url) as client:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])


class ConveyorRedisAof(ConveyorRedis):
    """Conveyor on a redis-server the harness starts with `appendfsync always` (its AOF in
    a temporary folder), for the price of durability on Redis: enqueue and drain."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "conveyor-redis-aof"
        self.durability = (
            "a Redis of its own with `appendonly yes`, `appendfsync always`: every write is"
            " fsync'd to the AOF before Redis replies; a power cut loses nothing acknowledged"
        )
        self.workloads = ("enqueue", "drain")
        self.server: Server | None = None

    def open(self) -> None:
        (self.folder / "redis").mkdir(parents=True)
        self.server, port = redis_server(
            self.folder / "redis", "--appendonly", "yes", "--appendfsync", "always"
        )
        self.url = f"redis://127.0.0.1:{port}/0?prefix=bench-conveyor"
        super().open()

    def config(self, workload: Workload) -> str:
        port = self.url.split(":")[2].split("/")[0]
        return super().config(workload).replace(f":{port}/", ":<own port>/")

    def close(self) -> None:
        if self.app is not None:
            self.app.close()
            self.app = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        # not ConveyorRedis.close: this server's keys go with it, its files with the folder
        ConveyorSQLite.close(self)
