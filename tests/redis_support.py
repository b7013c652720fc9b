"""Redis for tests: the machine's server (each test with its own key prefix in database
14, its keys deleted afterwards, never FLUSHALL/FLUSHDB), or a redis-server of the test's
own for tests that stop and restart it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
import uuid_utils

from conveyor.backends import Backend
from conveyor.backends.redis import RedisBackend, parse_redis_url

REDIS_URL = os.environ.get("CONVEYOR_TEST_REDIS", "redis://127.0.0.1:6379/14")


def service_missing(kind: str, reason: str) -> None:
    """Skip with the reason, or fail under CONVEYOR_REQUIRE_SERVICES=1 (CI)."""
    message = f"{kind} not available: {reason}"
    if os.environ.get("CONVEYOR_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (CONVEYOR_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def unique_redis_url(base: str = REDIS_URL) -> str:
    """A backend URL on `base` with a key prefix no other test uses."""
    return f"{base}?prefix=test-{uuid_utils.uuid7().hex}"


def delete_prefix(url: str) -> None:
    """Delete every key a backend URL's prefix owns (synchronously, for teardown)."""
    client_url, prefix = parse_redis_url(url)
    with redis.Redis.from_url(client_url, socket_connect_timeout=2) as client:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)


def require_redis(url: str = REDIS_URL) -> None:
    client_url, _ = parse_redis_url(url)
    try:
        with redis.Redis.from_url(client_url, socket_connect_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        service_missing("Redis", f"{client_url}: {exc}")


async def forget(backend: Backend) -> None:
    """Delete every key under a Redis backend's prefix; other backends keep their files."""
    if not isinstance(backend, RedisBackend):
        return
    keys = [key async for key in backend.client.scan_iter(match=f"{backend.prefix}*", count=500)]
    if keys:
        await backend.client.delete(*keys)


class RedisServer:
    """A redis-server of one test's own on a loopback port: AOF with fsync on every
    write, so a kill -9 loses nothing it acknowledged. Stopped by its PID."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server", "not installed")
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            str(binary),
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        with redis.Redis(port=self.port, socket_connect_timeout=1) as client:
            while True:
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
