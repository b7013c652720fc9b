"""Real `conveyor serve` processes on free ports, driven over HTTP, and their fixtures
(imported by the conftest of the folders that use them)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

CONVEYOR = str(Path(sys.executable).with_name("conveyor"))

USER_APP = """
import asyncio
import threading
import time

import conveyor

app = conveyor.App()

@app.task()
def quit_thread(ctx):
    raise SystemExit("bye")

@app.task()
async def greet(ctx, name: str) -> str:
    await asyncio.sleep(0.01)
    return f"hello {name}"

@app.task(max_attempts=2)
def always_fails(ctx):
    raise ValueError("nope")

@app.task()
def work(ctx, label: str, ms: int = 50) -> str:
    with open("executions.log", "a") as log:
        log.write(f"start {ctx.task_id} {ctx.attempt}\\n")
    time.sleep(ms / 1000)
    with open("executions.log", "a") as log:
        log.write(f"end {ctx.task_id} {ctx.attempt}\\n")
    return label

@app.task()
def hang(ctx) -> None:
    threading.Event().wait()

@app.task()
def record(ctx, label: str) -> str:
    with open("executions.log", "a") as log:
        log.write(f"{ctx.task_id} {ctx.attempt} {label}\\n")
    return label
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One server process; `stop(SIGKILL)` kills its whole process group, as a crash."""

    base_url: str
    db_url: str
    workdir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20) -> int:
        self.client.close()
        if self.process.poll() is None:
            if sig == signal.SIGKILL:  # a crash: the whole process group, workers included
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


StartServer = Callable[..., Server]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONVEYOR, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, **(env or {})},
        check=False,
    )


class ServerFactory:
    """Starts `conveyor serve` processes in one folder; `close` stops them all by PID."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        (workdir / "userapp.py").write_text(USER_APP)
        self.started: list[Server] = []

    def __call__(self, *args: str, env: dict[str, str] | None = None, db: str = "c.db") -> Server:
        port = free_port()
        db_url = f"sqlite:///{self.workdir / db}"
        log_path = self.workdir / f"server-{len(self.started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [CONVEYOR, "serve", "--port", str(port), "--backend", db_url, *args],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # so a crash test can kill the whole group
                env={**os.environ, "CONVEYOR_NODE_ID": f"node-{len(self.started)}", **(env or {})},
            )
        server = Server(f"http://127.0.0.1:{port}", db_url, self.workdir, process, log_path)
        self.started.append(server)
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited early:\n{server.log()}")
            try:
                if server.client.get("/health").status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not answer in time:\n{server.log()}")
            time.sleep(0.05)

    def close(self) -> None:
        for server in self.started:
            server.stop(signal.SIGKILL if server.process.poll() is None else signal.SIGTERM)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def start_server(workdir: Path) -> Iterator[StartServer]:
    """Start servers on this test's own database."""
    factory = ServerFactory(workdir)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """Servers shared by a module's tests (for tests that do not disturb each other)."""
    factory = ServerFactory(tmp_path_factory.mktemp("shared"))
    yield factory
    factory.close()


def wait_until(check: Callable[[], bool], timeout_s: float = 15, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout_s} s")
        time.sleep(0.05)
