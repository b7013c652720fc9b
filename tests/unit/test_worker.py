"""The worker on a real SQLite backend: order, supervision, retries, progress, cancel, stop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import timedelta

from conveyor.backends.base import WorkerRecord
from conveyor.backends.sqlite import SQLiteBackend
from conveyor.demo import builtin_registry
from conveyor.errors import Retry, TaskCanceledError
from conveyor.registry import Registry, TaskContext, TaskOptions
from conveyor.service import TaskRequest, TaskService
from conveyor.task import Status, utcnow
from conveyor.worker.recycling import ABANDONED_EXIT, ABANDONED_REASON
from tests.support import StartWorker, eventually, wait_final


def service_for(backend: SQLiteBackend, registry: Registry) -> TaskService:
    return TaskService(backend, registry, "test-node")


async def submit(service: TaskService, task_type: str, **fields: object) -> str:
    priority = fields.pop("priority", None)
    max_attempts = fields.pop("max_attempts", None)
    [done] = await service.submit(
        [
            TaskRequest(
                task_type,
                dict(fields),
                priority=priority,  # type: ignore[arg-type]
                max_attempts=max_attempts,
            )
        ]
    )  # type: ignore[arg-type]
    return done.task.id


async def test_sync_and_async_handlers_complete(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()

    def double(ctx: TaskContext, n: int) -> int:
        return n * 2

    async def greet(ctx: TaskContext, name: str) -> str:
        await asyncio.sleep(0.01)
        return f"hello {name}"

    registry.register(double)
    registry.register(greet)
    service = service_for(backend, registry)
    await start_worker(registry)
    sync_id = await submit(service, "double", n=21)
    async_id = await submit(service, "greet", name="ada")
    sync_task = await wait_final(service, sync_id)
    async_task = await wait_final(service, async_id)
    assert (sync_task.status, sync_task.result) == (Status.COMPLETED, 42)
    assert (async_task.status, async_task.result) == (Status.COMPLETED, "hello ada")
    assert sync_task.handled_by == "test-worker-0"
    assert sync_task.attempts == 1


async def test_priority_nine_submitted_last_starts_first(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    order: list[int] = []

    def record(ctx: TaskContext, n: int) -> None:
        order.append(n)

    registry.register(record)
    service = service_for(backend, registry)
    for n in range(5):
        await submit(service, "record", n=n, priority=0)
    await submit(service, "record", n=99, priority=9)
    await start_worker(registry, threads=1)
    await eventually(lambda: len(order) == 6)
    assert order == [99, 0, 1, 2, 3, 4]


async def test_system_exit_kills_a_thread_and_the_monitor_replaces_it(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = builtin_registry()

    def leave(ctx: TaskContext) -> None:
        raise SystemExit("handler quit")

    registry.register(leave)
    service = service_for(backend, registry)
    worker = await start_worker(registry, threads=3)
    failed = await wait_final(service, await submit(service, "leave"))
    assert failed.status is Status.FAILED
    assert "SystemExit" in (failed.error or "")

    consumers = [r for r in worker.roster.records() if r.role == "consumer"]
    await eventually(lambda: sum(r.restarts for r in consumers) == 1)
    await eventually(lambda: all(r.thread is not None and r.thread.is_alive() for r in consumers))
    assert len(consumers) == 3
    ids = [await submit(service, "add", a=i, b=1) for i in range(6)]
    results = [(await wait_final(service, i)).result for i in ids]
    assert results == [1, 2, 3, 4, 5, 6]


async def test_failures_retry_with_backoff_then_fail_with_traceback(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    calls: list[float] = []

    def flaky(ctx: TaskContext) -> None:
        calls.append(time.monotonic())
        raise ValueError("boom")

    registry.register(flaky)
    service = service_for(backend, registry)
    await start_worker(registry)
    task = await wait_final(service, await submit(service, "flaky", max_attempts=2))
    assert task.status is Status.FAILED
    assert task.attempts == 2
    assert task.error == "ValueError: boom"
    assert "raise ValueError" in (task.traceback or "")
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.5  # the first retry waits at least half the base delay


async def test_progress_is_stored_while_the_task_runs(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    release = threading.Event()

    def slow(ctx: TaskContext) -> str:
        ctx.progress(0.5, "halfway")
        release.wait(10)
        return "done"

    registry.register(slow)
    service = service_for(backend, registry)
    await start_worker(registry)
    task_id = await submit(service, "slow")
    try:
        for _ in range(100):
            task = await service.get(task_id)
            if task.progress == 0.5:
                break
            await asyncio.sleep(0.05)
        assert (task.progress, task.progress_message) == (0.5, "halfway")
        assert task.status is Status.PROCESSING
    finally:
        release.set()
    assert (await wait_final(service, task_id)).result == "done"


async def test_cancel_of_a_running_task_reaches_the_handler(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    started = threading.Event()

    def patient(ctx: TaskContext) -> str:
        started.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if ctx.cancelled:
                raise TaskCanceledError(ctx.task_id)
            time.sleep(0.01)
        return "not canceled"

    registry.register(patient)
    service = service_for(backend, registry)
    await start_worker(registry, lease_s=0.9)  # renewals (which carry the cancel) every 0.3 s
    task_id = await submit(service, "patient")
    await eventually(started.is_set)
    outcome = await service.cancel(task_id)
    assert outcome.task.status is Status.PROCESSING
    assert outcome.task.cancel_requested
    task = await wait_final(service, task_id)
    assert task.status is Status.CANCELED


async def test_stop_gives_unfinished_tasks_back_without_counting_the_attempt(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    started, release = threading.Event(), threading.Event()

    def stuck(ctx: TaskContext) -> None:
        started.set()
        release.wait(10)

    registry.register(stuck)
    service = service_for(backend, registry)
    worker = await start_worker(registry)
    task_id = await submit(service, "stuck")
    await eventually(started.is_set)
    try:
        await worker.stop(grace_s=0.2)
    finally:
        release.set()
    task = await service.get(task_id)
    assert task.status is Status.PENDING
    assert task.attempts == 0
    assert task.lease_token is None


async def test_an_outcome_after_the_lease_was_lost_is_discarded(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    started, release = threading.Event(), threading.Event()

    def slow(ctx: TaskContext) -> str:
        started.set()
        release.wait(10)
        return "late"

    registry.register(slow)
    service = service_for(backend, registry)
    worker = await start_worker(registry, lease_s=60)
    task_id = await submit(service, "slow", max_attempts=1)
    await eventually(started.is_set)
    # Another node's reaper decides the lease expired (as after a long GC pause).
    assert await backend.reap(utcnow() + timedelta(seconds=120)) == 1
    release.set()
    await eventually(lambda: worker.metrics.lost_leases._value.get() == 1)
    task = await service.get(task_id)
    assert task.status is Status.FAILED  # the reaper's verdict stands
    assert task.result is None
    assert "lease expired" in (task.error or "")


async def test_an_idle_worker_wakes_on_submit(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = builtin_registry()
    service = service_for(backend, registry)
    await start_worker(registry)
    await asyncio.sleep(0.3)  # let it go idle (its idle wait is 5 s)
    started = time.monotonic()
    task = await wait_final(service, await submit(service, "add", a=1, b=2))
    assert task.result == 3
    assert time.monotonic() - started < 2.0


async def test_priority_holds_for_tasks_submitted_while_every_slot_is_busy(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    order: list[int] = []
    started, release = threading.Event(), threading.Event()

    def record(ctx: TaskContext, n: int) -> None:
        if n == -1:
            started.set()
            release.wait(10)
        order.append(n)

    registry.register(record)
    service = service_for(backend, registry)
    await start_worker(registry, threads=1)
    await submit(service, "record", n=-1)
    await eventually(started.is_set)  # the only slot is busy from here on
    for n in range(3):
        await submit(service, "record", n=n, priority=0)
    await submit(service, "record", n=9, priority=9)
    release.set()
    await eventually(lambda: len(order) == 5)
    assert order == [-1, 9, 0, 1, 2]


async def test_a_sync_handler_past_its_timeout_fails_on_time_and_the_pool_stays_full(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = builtin_registry()
    release = threading.Event()

    def hang(ctx: TaskContext) -> None:
        release.wait(30)

    registry.register(hang)
    service = service_for(backend, registry)
    worker = await start_worker(registry, threads=2)
    try:
        [hung] = await service.submit([TaskRequest("hang", timeout_s=0.5, max_attempts=1)])
        started = time.monotonic()
        failed = await wait_final(service, hung.task.id)
        assert time.monotonic() - started < 5
        assert failed.status is Status.FAILED
        assert failed.error == "TimeoutError: timed out after 0.5 s"
        consumers = [r for r in worker.roster.records() if r.role == "consumer"]
        assert sum(r.restarts for r in consumers) == 1
        assert not worker.retired.is_set()  # unsupervised: no parent would replace it
        # both slots serve again, though one old thread still hangs in the handler
        ids = [await submit(service, "sleep", seconds=1.5) for _ in range(2)]
        begun = time.monotonic()
        for task_id in ids:
            assert (await wait_final(service, task_id)).status is Status.COMPLETED
        assert time.monotonic() - begun < 2.9  # in parallel: one slot would need 3 s
    finally:
        release.set()


async def test_a_failed_task_retried_runs_again(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    calls: list[int] = []

    def once_bad(ctx: TaskContext) -> str:
        calls.append(ctx.attempt)
        if len(calls) == 1:
            raise ValueError("first time")
        return "ok"

    registry.register(once_bad)
    service = service_for(backend, registry)
    await start_worker(registry)
    task_id = await submit(service, "once_bad", max_attempts=1)
    assert (await wait_final(service, task_id)).status is Status.FAILED
    await service.retry(task_id)
    task = await wait_final(service, task_id)
    assert (task.status, task.result, task.attempts) == (Status.COMPLETED, "ok", 1)


async def test_a_restarted_worker_reclaims_what_its_dead_predecessor_held(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = builtin_registry()
    service = service_for(backend, registry)
    task_id = await submit(service, "echo")
    # A predecessor on this host claimed the task, then died (its pid no longer exists).
    dead_pid = 2**22 + 12345
    now = utcnow()
    await backend.record_worker(
        WorkerRecord("old-worker", "n", dead_pid, now, now, info={"hostname": socket.gethostname()})
    )
    [held] = await backend.claim("old-worker", ["default"], ["echo"], 1, 600, now)
    assert held.id == task_id
    await start_worker(registry)
    task = await wait_final(service, task_id, timeout_s=5)  # long before the 600 s lease
    assert task.status is Status.COMPLETED
    assert task.attempts == 2
    assert "old-worker" not in [w.id for w in await backend.workers()]


async def test_a_restarted_process_tells_the_tasks_it_reclaims_how_its_predecessor_died(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    running, release = threading.Event(), threading.Event()

    def wait_for_release(ctx: TaskContext) -> int:
        running.set()
        release.wait(10)
        return ctx.attempt

    registry.register(wait_for_release)
    service = service_for(backend, registry)
    task_id = await submit(service, "wait_for_release")
    # The process before this one, with the same worker id, died holding the task.
    now = utcnow()
    host = {"hostname": socket.gethostname()}
    await backend.record_worker(WorkerRecord("w-1", "n", 2**22 + 54321, now, now, info=host))
    await backend.claim("w-1", ["default"], ["wait_for_release"], 1, 600, now)
    killed = "was killed by SIGKILL (the OS kills this way when out of memory)"
    await start_worker(registry, worker_id="w-1", predecessor_exit=killed)
    try:
        await eventually(running.is_set)
        task = await service.get(task_id)
        assert (task.status, task.attempts) == (Status.PROCESSING, 2)
        assert task.error == f"the worker process running it {killed} (attempt 1 of 3, worker w-1)"
    finally:
        release.set()
    done = await wait_final(service, task_id)
    assert (done.status, done.result) == (Status.COMPLETED, 2)


async def test_a_supervised_process_retires_once_it_abandons_a_thread(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = builtin_registry()
    release = threading.Event()

    def hang(ctx: TaskContext) -> None:
        release.wait(30)

    registry.register(hang)
    service = service_for(backend, registry)
    worker = await start_worker(registry, threads=2, retire_on_abandon=True)
    try:
        [hung] = await service.submit([TaskRequest("hang", timeout_s=0.5, max_attempts=1)])
        failed = await wait_final(service, hung.task.id)
        assert failed.error == "TimeoutError: timed out after 0.5 s"
        await asyncio.wait_for(worker.retired.wait(), 5)
        assert worker.exit_code == ABANDONED_EXIT
        assert worker.record().info["retiring"] == ABANDONED_REASON
        # it claims nothing more: its parent's next process will
        later = await submit(service, "add", a=1, b=1)
        await asyncio.sleep(0.5)
        assert (await service.get(later)).status is Status.PENDING
    finally:
        release.set()


async def test_an_idle_worker_restarts_none_of_its_threads(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    worker = await start_worker(builtin_registry(), threads=3, stuck_thread_s=1.0)
    await asyncio.sleep(4)  # four stuck intervals with nothing to do
    records = worker.roster.records()
    assert sorted(r.role.value for r in records) == ["consumer"] * 3 + ["monitor"]
    assert [r.restarts for r in records] == [0] * 4
    assert all(r.thread is not None and r.thread.is_alive() for r in records)


async def test_finished_tasks_are_purged_after_retention(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = builtin_registry()
    service = service_for(backend, registry)
    await start_worker(registry, retention_s=0.3, reap_interval_s=0.1)
    done = await wait_final(service, await submit(service, "echo"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while await backend.get([done.id]) != [None]:
        assert loop.time() < deadline, "not purged"
        await asyncio.sleep(0.05)


async def test_a_handler_can_ask_to_be_retried_later(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    attempts: list[float] = []

    def not_yet(ctx: TaskContext) -> str:
        attempts.append(time.monotonic())
        if ctx.attempt < 3:
            raise Retry("upstream busy", delay=0.2)
        return "finally"

    registry.register(not_yet)
    service = service_for(backend, registry)
    await start_worker(registry)
    task = await wait_final(service, await submit(service, "not_yet"))
    assert (task.status, task.result, task.attempts) == (Status.COMPLETED, "finally", 3)
    assert attempts[1] - attempts[0] >= 0.2
    task_id = await submit(service, "not_yet", max_attempts=1)
    failed = await wait_final(service, task_id)
    assert failed.error == "retry requested: upstream busy, but all 1 attempts are used"


async def test_a_type_can_set_its_own_retry_backoff(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = Registry()
    calls: list[float] = []

    def quick_retry(ctx: TaskContext) -> str:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise ValueError("not yet")
        return "ok"

    registry.register(quick_retry, options=TaskOptions(backoff_s=0.05))
    service = service_for(backend, registry)
    await start_worker(registry)
    task = await wait_final(service, await submit(service, "quick_retry"))
    assert (task.status, task.attempts) == (Status.COMPLETED, 3)
    # default base 1 s would wait >= 0.5 s then >= 1 s; 0.05 s waits at most 0.05 + 0.1
    assert calls[2] - calls[0] < 0.5


async def test_a_sync_handler_ignoring_a_cancel_is_abandoned_after_the_grace_period(
    backend: SQLiteBackend, start_worker: StartWorker
) -> None:
    registry = builtin_registry()
    started, release = threading.Event(), threading.Event()

    def stubborn(ctx: TaskContext) -> str:
        started.set()
        release.wait(30)  # never looks at ctx.cancelled
        return "too late"

    registry.register(stubborn)
    service = service_for(backend, registry)
    worker = await start_worker(registry, threads=1, lease_s=0.9, cancel_grace_s=0.5)
    try:
        task_id = await submit(service, "stubborn")
        await eventually(started.is_set)
        begun = time.monotonic()
        await service.cancel(task_id)
        task = await wait_final(service, task_id)
        assert task.status is Status.CANCELED
        assert "did not stop within 0.5 s" in (task.error or "")
        assert time.monotonic() - begun < 5
        # the only slot has a new thread: work goes on
        after = await wait_final(service, await submit(service, "add", a=1, b=1))
        assert after.result == 2
        [consumer] = [r for r in worker.roster.records() if r.role == "consumer"]
        assert consumer.restarts == 1
    finally:
        release.set()
