"""The `conveyor` command: serve, worker, submit, get, cancel, tasks, config."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from conveyor import logs
from conveyor.app import App, load_app
from conveyor.backends.base import StatusChange, TaskFilter
from conveyor.config import Settings, load_settings
from conveyor.demo import builtin_registry
from conveyor.errors import ConveyorError
from conveyor.heap import freeze_startup_objects
from conveyor.node import Node
from conveyor.registry import Registry
from conveyor.service import TaskRequest, TaskService
from conveyor.task import Status
from conveyor.worker.recycling import ABANDONED_EXIT
from conveyor.worker.supervisor import die_with_parent

if TYPE_CHECKING:
    from rich.console import Console

cli = typer.Typer(
    help="Conveyor: durable task processing.", no_args_is_help=True, pretty_exceptions_enable=False
)


# rich and uvicorn load on first use: a worker's start (which the drain's clock counts)
# needs neither, and they were a fifth of the CLI's import time.
@functools.cache
def _out() -> Console:
    from rich.console import Console

    return Console()


@functools.cache
def _err() -> Console:
    from rich.console import Console

    return Console(stderr=True)


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="CONVEYOR_CONFIG",
        help="TOML file of settings (keys as in `conveyor config`). Unlike the Flask seed's Python "
        "config class, it is data: flags and CONVEYOR_* variables override it.",
    ),
]
BackendOpt = Annotated[
    str | None, typer.Option(help="storage URL [default: sqlite:///conveyor.db]")
]
ProcessesOpt = Annotated[
    int | None,
    typer.Option(help="worker child processes, each with its thread slots (0: in this process)"),
]
GraceOpt = Annotated[
    float | None,
    typer.Option(
        help="on SIGTERM, how long running tasks may finish before they are given back"
        " [default: 10]"
    ),
]
MaxTasksOpt = Annotated[
    int | None,
    typer.Option(help="replace a worker process after this many tasks (with --processes)"),
]
MaxMemoryOpt = Annotated[
    float | None,
    typer.Option(
        help="replace a worker process past this RSS in MB, between tasks (with --processes)"
    ),
]
AppOpt = Annotated[str | None, typer.Option("--app", help="module:attribute of your conveyor.App")]


def _settings(config: Path | None, **flags: Any) -> Settings:
    try:
        return load_settings(config, **flags)
    except (FileNotFoundError, ValueError) as exc:
        _err().print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _configure_logs(settings: Settings) -> None:
    logs.configure(
        settings.log_level,
        settings.log_file,
        settings.debug,
        settings.log_max_bytes,
        settings.log_backups,
    )


def _registry(settings: Settings) -> Registry:
    registry = builtin_registry()
    if settings.app:
        sys.path.insert(0, str(Path.cwd()))
        try:
            registry = registry.merged(load_app(settings.app).own_registry)
        except (ImportError, ValueError) as exc:
            _err().print(f"[red]cannot load --app {settings.app}:[/red] {exc}")
            raise typer.Exit(2) from None
    return registry


def _print_json(value: Any) -> None:
    _out().print_json(orjson.dumps(value).decode())


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [default: 8000]")] = None,
    backend: BackendOpt = None,
    threads: Annotated[int | None, typer.Option(help="thread slots [default: 5]")] = None,
    app: AppOpt = None,
    demo: Annotated[bool | None, typer.Option("--demo", help="submit demo tasks")] = None,
    demo_rate: Annotated[float | None, typer.Option(help="demo tasks per second")] = None,
    content_seconds: Annotated[
        float | None,
        typer.Option(help="seconds a `POST /task {content}` task takes (seed 001) [default: 3]"),
    ] = None,
    ingest_dir: Annotated[
        Path | None, typer.Option(help="folder of the ingest streams' CSV files [default: ingest]")
    ] = None,
    ingest_queue_size: Annotated[
        int | None, typer.Option(help="records waiting for the disk before 503s [default: 5000]")
    ] = None,
    inactivity_warn_seconds: Annotated[
        float | None,
        typer.Option(help="WARN when an ingest stream received nothing this long [default: 120]"),
    ] = None,
    debug: Annotated[bool | None, typer.Option("--debug", help="debug logging")] = None,
    workers: Annotated[
        bool | None,
        typer.Option("--workers/--no-workers", help="run workers here too [default: yes]"),
    ] = None,
    node_id: Annotated[str | None, typer.Option(help="this node's id [default: host-pid]")] = None,
    lease_seconds: Annotated[float | None, typer.Option(help="lease length [default: 30]")] = None,
    queues: Annotated[str | None, typer.Option(help="comma-separated queues to consume")] = None,
    processes: ProcessesOpt = None,
    grace_seconds: GraceOpt = None,
    max_tasks_per_child: MaxTasksOpt = None,
    max_memory_per_child: MaxMemoryOpt = None,
    static_dir: Annotated[
        Path | None, typer.Option(help="serve this folder under /static/ [default: none]")
    ] = None,
    static_cache_max_bytes: Annotated[
        int | None, typer.Option(help="memory for cached static files [default: 64 MiB]")
    ] = None,
    max_concurrent_requests: Annotated[
        int | None,
        typer.Option(help="requests served at once, then 503s (0: no limit) [default: 256/core]"),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Run the HTTP API, workers and monitor (workers in one child process per core when
    the machine has several; --processes 0 keeps them in this process)."""
    settings = _settings(
        config,
        host=host,
        port=port,
        backend=backend,
        threads=threads,
        app=app,
        demo=demo,
        demo_rate=demo_rate,
        content_seconds=content_seconds,
        ingest_dir=ingest_dir,
        ingest_queue_size=ingest_queue_size,
        inactivity_warn_seconds=inactivity_warn_seconds,
        debug=debug,
        workers=workers,
        node_id=node_id,
        lease_seconds=lease_seconds,
        queues=queues,
        processes=processes,
        shutdown_grace_seconds=grace_seconds,
        max_tasks_per_child=max_tasks_per_child,
        max_memory_per_child=max_memory_per_child,
        static_dir=static_dir,
        static_cache_max_bytes=static_cache_max_bytes,
        max_concurrent_requests=max_concurrent_requests,
    )
    if settings.static_dir is not None and not settings.static_dir.is_dir():
        _err().print(
            f"[red]configuration error:[/red] static_dir {settings.static_dir} is not a folder"
        )
        raise typer.Exit(2)
    _configure_logs(settings)
    import uvicorn

    from conveyor.api.app import create_app

    node = Node(settings, _registry(settings), run_workers=settings.workers, serving=True)
    asgi_app = create_app(node)
    server = uvicorn.Server(
        uvicorn.Config(
            asgi_app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=settings.debug,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        )
    )
    handle_exit = server.handle_exit

    def stop(sig: int, frame: FrameType | None) -> None:
        asgi_app.close_streams()  # open dashboards would hold the graceful stop
        handle_exit(sig, frame)

    server.handle_exit = stop  # type: ignore[method-assign]
    _exit_cleanly_after_signals()
    server.run()
    if not server.started:
        raise typer.Exit(1)


def _exit_cleanly_after_signals() -> None:
    """uvicorn handles SIGTERM/SIGINT (graceful stop), then re-raises the signal under the
    handler that was there before it; a no-op there makes a graceful stop exit 0."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)


@cli.command()
def worker(
    backend: BackendOpt = None,
    threads: Annotated[int | None, typer.Option(help="thread slots [default: 5]")] = None,
    prefetch: Annotated[
        int | None,
        typer.Option(
            help="sync tasks claimed beyond free slots: fewer, larger claims for short tasks,"
            " but a higher-priority task submitted later may wait behind them [default: 0]"
        ),
    ] = None,
    app: AppOpt = None,
    queues: Annotated[str | None, typer.Option(help="comma-separated queues to consume")] = None,
    node_id: Annotated[str | None, typer.Option(help="this node's id [default: host-pid]")] = None,
    debug: Annotated[bool | None, typer.Option("--debug", help="debug logging")] = None,
    processes: ProcessesOpt = None,
    grace_seconds: GraceOpt = None,
    max_tasks_per_child: MaxTasksOpt = None,
    max_memory_per_child: MaxMemoryOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run workers only (no HTTP), against a shared backend."""
    settings = _settings(
        config,
        backend=backend,
        threads=threads,
        prefetch=prefetch,
        app=app,
        queues=queues,
        node_id=node_id,
        debug=debug,
        processes=processes,
        shutdown_grace_seconds=grace_seconds,
        max_tasks_per_child=max_tasks_per_child,
        max_memory_per_child=max_memory_per_child,
    )
    _configure_logs(settings)
    node = Node(settings, _registry(settings), run_workers=True)

    async def run() -> int | None:
        """Serve until a signal (None) or until the worker retires (its exit status)."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            # A second signal, or one while retiring (the supervisor found it too slow):
            # leave now, the leases recover the work.
            if stop.is_set() or (node.worker is not None and node.worker.retired.is_set()):
                os._exit(1)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        die_with_parent()
        starting = asyncio.create_task(node.start())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([starting, stopped], return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # a signal while waiting for the backend: just leave
            starting.cancel()
            return None
        stopped.cancel()
        starting.result()
        freeze_startup_objects()
        assert node.worker is not None or node.supervisor is not None
        waits = [asyncio.create_task(stop.wait())]
        if node.worker is not None:
            waits.append(asyncio.create_task(node.worker.retired.wait()))
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()
        await node.stop()
        return None if stop.is_set() or node.worker is None else node.worker.exit_code

    exit_code = asyncio.run(run())
    if exit_code == ABANDONED_EXIT:
        # An abandoned handler still runs in a thread: only the end of the process stops
        # it, and interpreter shutdown could block on (or abort over) a lock it holds.
        logging.shutdown()
        os._exit(exit_code)
    if exit_code is not None:
        raise typer.Exit(exit_code)


def _with_app(settings: Settings, body: Any) -> Any:
    """Run `body(service)` against the configured backend, with clean errors."""
    app = App(settings)
    app.own_registry = _registry(settings)

    async def run() -> Any:
        try:
            return await body(await app.service())
        finally:
            if app._backend is not None:
                await app._backend.close()

    try:
        return asyncio.run(run())
    except ConveyorError as exc:
        _err().print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None


@cli.command()
def submit(
    task_type: Annotated[str, typer.Argument(metavar="TYPE", help="task type, e.g. add")],
    payload: Annotated[str, typer.Option(help="JSON object of the handler's fields")] = "{}",
    priority: Annotated[int | None, typer.Option(help="0-9, higher first")] = None,
    queue: Annotated[str | None, typer.Option(help="queue name")] = None,
    delay: Annotated[float | None, typer.Option(help="seconds before it may run")] = None,
    wait: Annotated[float | None, typer.Option(help="wait up to S seconds for the result")] = None,
    backend: BackendOpt = None,
    app: AppOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Submit a task (stored even when no server runs; a server picks it up)."""
    settings = _settings(config, backend=backend, app=app)
    try:
        fields = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        _err().print(f"[red]--payload is not JSON:[/red] {exc}")
        raise typer.Exit(2) from None

    async def body(service: Any) -> Any:
        [submitted] = await service.submit(
            [
                TaskRequest(
                    type=task_type, payload=fields, priority=priority, queue=queue, delay_s=delay
                )
            ]
        )
        task = submitted.task
        if wait:
            with _err().status(f"waiting for {task.id}"):
                task = await service.wait(task.id, wait)
        return task

    _print_json(_with_app(settings, body).to_json())


@cli.command()
def get(
    task_id: Annotated[str, typer.Argument(metavar="ID")],
    wait: Annotated[
        float | None, typer.Option(help="wait up to S seconds for a final state")
    ] = None,
    backend: BackendOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Show a task as JSON."""
    settings = _settings(config, backend=backend)

    async def body(service: Any) -> Any:
        if wait:
            with _err().status(f"waiting for {task_id}"):
                return await service.wait(task_id, wait)
        return await service.get(task_id)

    _print_json(_with_app(settings, body).to_json())


@cli.command()
def cancel(
    task_id: Annotated[str, typer.Argument(metavar="ID")],
    backend: BackendOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Cancel a pending task (a running one is asked to stop)."""
    _change_task(config, backend, lambda service: service.cancel(task_id))


@cli.command()
def retry(
    task_id: Annotated[str, typer.Argument(metavar="ID")],
    backend: BackendOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Put a failed or canceled task back to pending."""
    _change_task(config, backend, lambda service: service.retry(task_id))


def _change_task(
    config: Path | None,
    backend: str | None,
    change: Callable[[TaskService], Awaitable[StatusChange]],
) -> None:
    """Apply a status change through the service and print the task after it."""
    settings = _settings(config, backend=backend)

    async def body(service: TaskService) -> Any:
        return (await change(service)).task

    _print_json(_with_app(settings, body).to_json())


@cli.command()
def tasks(
    status: Annotated[Status | None, typer.Option(help="only this status")] = None,
    task_type: Annotated[str | None, typer.Option("--type", help="only this type")] = None,
    queue: Annotated[str | None, typer.Option(help="only this queue")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="how many")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    backend: BackendOpt = None,
    config: ConfigOpt = None,
) -> None:
    """List tasks, newest first, with counts by status."""
    settings = _settings(config, backend=backend)

    async def body(service: Any) -> Any:
        return (
            await service.list(TaskFilter(status, task_type, queue), None, limit),
            await service.stats(),
        )

    page, stats = _with_app(settings, body)
    if as_json:
        _print_json(
            {
                "stats": stats.by_status,
                "tasks": [t.to_json() for t in page.tasks],
                "next_cursor": page.next_cursor,
            }
        )
        return
    counts = (f"{name}: [bold]{count}[/bold]" for name, count in stats.by_status.items())
    _out().print("  ".join(counts))
    from rich.table import Table

    table = Table()
    table.add_column("id", no_wrap=True, min_width=36)  # ids are for copying: never cut
    for column in ("type", "status", "priority", "queue", "attempts", "created_at"):
        table.add_column(column)
    for task in page.tasks:
        row = task.to_json()
        table.add_row(
            task.id,
            task.type,
            task.status.value,
            str(task.priority),
            task.queue,
            str(task.attempts),
            row["created_at"],
        )
    _out().print(table)


@cli.command("config")
def show_config(
    backend: BackendOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print the effective settings (flags > CONVEYOR_* env > TOML file > defaults)."""
    settings = _settings(config, backend=backend)
    _print_json(settings.model_dump(mode="json"))


def main() -> None:
    cli()
