"""Servers the harness starts for one measurement: `conveyor serve`, the raw-ASGI ceiling
on uvicorn, and a private redis-server. Each listens on a free loopback port, is waited
for within a bound, and is stopped by its PID (its whole process group if it lingers)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import httpx
import redis

from bench.systems.base import BIN, ROOT

START_LIMIT_S = 60.0
STOP_LIMIT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A process in a session of its own, ready once `ready()` is true; a context manager
    that stops it (SIGTERM to the PID, then SIGKILL to its group) on the way out."""

    def __init__(
        self,
        command: list[str],
        ready: Callable[[], bool],
        log: Path,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
    ) -> None:
        self.command = command
        self.log = log
        # Conveyor's settings come from `env` alone, never from the harness's environment.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                cwd=cwd,
                env={**inherited, "PYTHONPATH": str(ROOT), **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + START_LIMIT_S
            while not ready():
                if self.process.poll() is not None:
                    raise RuntimeError(f"{command[0]} exited at start: {self.tail()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{command[0]} not ready in {START_LIMIT_S:g} s")
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_LIMIT_S)
        # anything of its session left: a worker child, or the server itself if it hung
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _answers(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    return ready


def conveyor_serve(
    backend: str, workdir: Path, *flags: str, env: dict[str, str] | None = None
) -> tuple[Server, str]:
    """`conveyor serve --backend URL FLAGS` on a free port: (server, base URL)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "conveyor"), "serve", "--port", str(port), "--backend", backend, *flags]
    server = Server(
        command,
        _answers(f"{base}/health"),
        workdir / "serve.log",
        env={"CONVEYOR_LOG_LEVEL": "WARNING", **(env or {})},
        cwd=workdir,
    )
    return server, base


def ceiling(workdir: Path) -> tuple[Server, str]:
    """bench.systems.ceiling_app:app on uvicorn, configured as `conveyor serve` configures it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "uvicorn"), "bench.systems.ceiling_app:app", "--port", str(port),
               "--no-access-log", "--log-level", "warning"]  # fmt: skip
    return Server(command, _answers(f"{base}/health"), workdir / "ceiling.log"), base


def redis_server(workdir: Path, *options: str) -> tuple[Server, int]:
    """A redis-server of the harness's own, its files in `workdir`: (server, port)."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
               "--save", "", *options]  # fmt: skip

    def ready() -> bool:
        try:
            with redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    return Server(command, ready, workdir / "redis.log"), port
