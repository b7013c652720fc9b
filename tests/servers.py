"""The server harness of tests/integration and tests/faults: real `conveyor serve`
processes on loopback, driven over HTTP.

Every process started here is stopped by its PID: SIGTERM, a bounded wait, then SIGKILL.
Output goes to a log file in the test's folder (no pipes to leak).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
_VENV_CONVEYOR = ROOT / ".venv" / "bin" / "conveyor"
CONVEYOR = str(
    _VENV_CONVEYOR if _VENV_CONVEYOR.exists() else Path(sys.executable).with_name("conveyor")
)

START_TIMEOUT_S = 14.0
STOP_TIMEOUT_S = 20.0
BUILTIN_TYPES = ("add", "calculation", "echo", "sleep", "validation")
FINAL = ("completed", "failed", "canceled")
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
TASK_FIELDS = (
    "id",
    "type",
    "payload",
    "priority",
    "queue",
    "status",
    "attempts",
    "result",
    "error",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "initiated_by",
    "handled_by",
)
TIME_FIELDS = ("created_at", "updated_at", "started_at", "finished_at")

USER_APP = '''\
"""Handlers a user would write; loaded with `conveyor serve --app userapp:app`."""

import asyncio
import os
import threading
import time

import conveyor

app = conveyor.App()


@app.task()
async def greet(ctx, name: str) -> str:
    await asyncio.sleep(0.01)
    return f"hello {name}"


@app.task()
def quit_thread(ctx) -> None:
    raise SystemExit("bye")


@app.task()
async def quit_loop(ctx) -> None:
    raise SystemExit("bye from async")


@app.task()
def always_fails(ctx) -> None:
    raise ValueError("nope")


@app.task()
def context(ctx, n: int = 0) -> dict:
    ctx.logger.info("context task %s", n)
    ctx.progress(1.0)
    return {"task_id": ctx.task_id, "attempt": ctx.attempt, "pid": os.getpid(), "n": n}


@app.task()
def record(ctx, label: str, seconds: float = 0.0) -> str:
    with open("executions.log", "a") as log:
        log.write(f"start {ctx.task_id} {ctx.attempt} {label}\\n")
    time.sleep(seconds)
    with open("executions.log", "a") as log:
        log.write(f"end {ctx.task_id} {ctx.attempt} {label}\\n")
    return label


@app.task()
def hang(ctx) -> None:
    threading.Event().wait()


@app.task()
def spin(ctx) -> None:
    while True:  # busy forever, deaf to ctx.cancelled
        pass
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: no CONVEYOR_* leaking in from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")}
    env.update(extra or {})
    return env


def wait_until(
    check: Callable[[], Any], timeout_s: float = 15.0, what: str = "condition", every: float = 0.05
) -> Any:
    """Poll `check` until it returns something truthy (returned), or fail after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout_s} s (last: {value!r})")
        time.sleep(every)


def parse_time(text: str) -> datetime:
    assert RFC3339_UTC.match(text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_problem(
    response: httpx.Response, status: int, field: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem with this status (and naming this field, when given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body: dict[str, Any] = response.json()
    for key in ("type", "title", "status", "detail"):
        assert key in body, body
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["status"] == status
    if field is not None:
        assert body.get("field") == field, body
    return body


class Process:
    """A conveyor process this harness started, its log, and how to stop it by PID."""

    def __init__(self, *, node_id: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.node_id = node_id
        self.process = process
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        """Signal the process by PID, wait (bounded), then SIGKILL by PID if needed."""
        if self.process.poll() is None:
            if sig == signal.SIGKILL:  # a crash: the whole group, worker processes too
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.send_signal(sig)  # by PID; a no-op once it has exited
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()  # SIGKILL by PID
                self.process.wait(10)
        return self.process.returncode


def launch(command: list[str], cwd: Path, log_path: Path, env: dict[str, str]) -> Process:
    """Start a conveyor command in its own process group, output to `log_path`."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so a crash test can kill it whole
            env=clean_env(env),
        )
    return Process(node_id=env["CONVEYOR_NODE_ID"], process=process, log_path=log_path)


class Server(Process):
    """One `conveyor serve` process and an HTTP client on it."""

    def __init__(self, *, base_url: str, db_url: str, workdir: Path, started: Process) -> None:
        super().__init__(
            node_id=started.node_id, process=started.process, log_path=started.log_path
        )
        self.base_url = base_url
        self.db_url = db_url
        self.workdir = workdir
        self.client = httpx.Client(base_url=base_url, timeout=30)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, **kwargs)

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post("/tasks", json=body)
        assert response.status_code == 201, response.text
        task: dict[str, Any] = response.json()
        return task

    def task(self, task_id: str) -> dict[str, Any]:
        response = self.client.get(f"/tasks/{task_id}")
        assert response.status_code == 200, response.text
        task: dict[str, Any] = response.json()
        return task

    def wait_final(self, task_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
        """The task once final, waiting server-side in short slices (bounded)."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if self.process.poll() is not None:
                raise AssertionError(f"server exited ({self.process.returncode}) while waiting")
            response = self.client.get(
                f"/tasks/{task_id}", params={"wait": max(0.1, min(5.0, left))}
            )
            assert response.status_code == 200, response.text
            task: dict[str, Any] = response.json()
            if task["status"] in FINAL:
                return task
            if time.monotonic() >= deadline:
                raise AssertionError(f"task not final within {timeout_s} s: {task}")

    def wait_status(self, task_id: str, status: str, timeout_s: float = 15.0) -> dict[str, Any]:
        return wait_until(
            lambda: (t := self.task(task_id))["status"] == status and t,
            timeout_s,
            f"task {task_id} {status}",
        )

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self.client.get("/tasks").json()["stats"]
        return stats

    def total(self) -> int:
        return sum(self.stats().values())

    def workers(self) -> list[dict[str, Any]]:
        workers: list[dict[str, Any]] = self.client.get("/workers").json()["workers"]
        return workers

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S) -> int | None:
        self.client.close()
        return super().stop(sig, timeout_s)


class ServerFactory:
    """Starts servers in one folder (which holds userapp.py); `close` stops them all."""

    def __init__(
        self, workdir: Path, node_prefix: str = "itest", backend: str | None = None
    ) -> None:
        self.workdir = workdir
        self.node_prefix = node_prefix
        self.backend = backend
        """The storage URL servers use unless told otherwise (None: a SQLite file here)."""
        (workdir / "userapp.py").write_text(USER_APP)
        self.started: list[Process] = []

    def db_url(self, db: str = "c.db") -> str:
        return f"sqlite:///{self.workdir / db}"

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        db: str = "c.db",
        node_id: str | None = None,
        grace_seconds: float = 2.0,
        backend: str | None = None,
    ) -> Server:
        """`conveyor serve --port P --backend sqlite:///<workdir>/<db> [args]`, answering.

        `backend` names another storage URL (e.g. Redis) instead of the SQLite file.
        Short shutdown grace by default so teardown never waits long for a running task;
        pass `--grace-seconds` in args to choose another."""
        port = free_port()
        db_url = backend or self.backend or self.db_url(db)
        started = self._launch(
            "serve", ["--port", str(port), "--backend", db_url], args, env, node_id, grace_seconds
        )
        server = Server(
            base_url=f"http://127.0.0.1:{port}",
            db_url=db_url,
            workdir=self.workdir,
            started=started,
        )
        self.started[-1] = server
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if server.process.poll() is not None:
                code = server.process.returncode
                raise AssertionError(f"server exited early ({code}):\n{server.log()}")
            try:
                if server.client.get("/health", timeout=2).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"server did not answer within {START_TIMEOUT_S} s:\n{server.log()}"
                )
            time.sleep(0.05)

    def worker(
        self,
        backend: str,
        *args: str,
        env: dict[str, str] | None = None,
        node_id: str | None = None,
        grace_seconds: float = 2.0,
    ) -> Process:
        """`conveyor worker --backend URL [args]`: consumers only, no HTTP."""
        return self._launch("worker", ["--backend", backend], args, env, node_id, grace_seconds)

    def _launch(
        self,
        command: str,
        options: list[str],
        args: tuple[str, ...],
        env: dict[str, str] | None,
        node_id: str | None,
        grace_seconds: float,
    ) -> Process:
        node_id = node_id or f"{self.node_prefix}-{len(self.started)}"
        log_path = self.workdir / f"{command}-{len(self.started)}-{node_id}.log"
        argv = [CONVEYOR, command, *options]
        if "--grace-seconds" not in args:
            argv += ["--grace-seconds", str(grace_seconds)]
        argv += list(args)
        started = launch(argv, self.workdir, log_path, {"CONVEYOR_NODE_ID": node_id, **(env or {})})
        self.started.append(started)
        return started

    def close(self) -> None:
        for process in self.started:
            process.stop()


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout_s: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run `conveyor ARGS` to completion (bounded) and capture its output."""
    return subprocess.run(
        [CONVEYOR, *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=clean_env({"COLUMNS": "200", **(env or {})}),
        check=False,
    )


def run_cli_many(
    *commands: tuple[str, ...] | tuple[dict[str, str], *tuple[str, ...]],
    cwd: Path,
) -> list[subprocess.CompletedProcess[str]]:
    """Independent CLI commands side by side (each start costs ~0.5 s of imports).
    A command may start with a dict: extra environment for that command."""

    def run(command: tuple[Any, ...]) -> subprocess.CompletedProcess[str]:
        if command and isinstance(command[0], dict):
            return run_cli(*command[1:], cwd=cwd, env=command[0])
        return run_cli(*command, cwd=cwd)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(run, commands))


def cli_json(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    """Run a CLI command that prints JSON; fail with its stderr when it does not exit 0."""
    done = run_cli(*args, cwd=cwd, env=env)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is as good as gone
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def supervised_children(server: Server) -> list[dict[str, Any]]:
    """The worker processes of a `--processes N` server, as its /workers shows them."""
    [parent] = [w for w in server.workers() if w["id"] == server.node_id]
    children: list[dict[str, Any]] = parent["info"]["processes"]
    return children


def is_conveyor_process(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"conveyor" in cmdline.read()
    except OSError:
        return False


StartServer = ServerFactory
