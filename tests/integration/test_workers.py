"""Workers as a user sees them: priority order, /workers, supervision, the demo producer."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from tests.servers import (
    BUILTIN_TYPES,
    Server,
    ServerFactory,
    is_conveyor_process,
    parse_time,
    pid_alive,
    wait_until,
)

THREAD_FIELDS = {"name", "role", "state", "task_id", "last_active", "restarts"}


def own_threads(server: Server) -> list[dict[str, Any]]:
    """The threads of the server's own worker (in-process workers: --processes 0)."""
    [worker] = [w for w in server.workers() if w["id"] == server.node_id]
    threads: list[dict[str, Any]] = worker["threads"]
    return threads


def consumers(threads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in threads if t["role"] == "consumer"]


def test_a_late_priority_nine_task_starts_before_earlier_priority_zero_ones(
    server: ServerFactory,
) -> None:
    s = server("--threads", "1", "--processes", "0")
    blocker = s.submit({"type": "sleep", "payload": {"seconds": 1.5}})
    s.wait_status(blocker["id"], "processing")
    low = [s.submit({"type": "echo", "priority": 0, "payload": {"n": n}}) for n in range(4)]
    high = s.submit({"type": "echo", "priority": 9})
    done = {t["id"]: s.wait_final(t["id"]) for t in [blocker, *low, high]}
    assert all(t["status"] == "completed" for t in done.values()), done
    # the test means something only if all were queued while the slot was busy
    assert parse_time(high["created_at"]) < parse_time(done[blocker["id"]]["finished_at"])
    high_start = parse_time(done[high["id"]]["started_at"])
    low_starts = [parse_time(done[t["id"]]["started_at"]) for t in low]
    assert all(high_start < start for start in low_starts), (high_start, low_starts)
    # and priority 0 ones among themselves run in submission order
    assert low_starts == sorted(low_starts)


@pytest.fixture(scope="module")
def in_process(module_server: ServerFactory) -> Server:
    """Workers inside the server process, with user handlers."""
    return module_server("--processes", "0", "--app", "userapp:app")


def test_workers_lists_five_consumers_and_a_monitor(in_process: Server) -> None:
    workers = in_process.workers()
    [worker] = [w for w in workers if w["id"] == in_process.node_id]
    assert worker["node"] == in_process.node_id
    assert worker["pid"] == in_process.pid
    assert worker["alive"] is True
    threads = worker["threads"]
    for thread in threads:
        assert set(thread) >= THREAD_FIELDS, thread
        assert isinstance(thread["restarts"], int)
        assert parse_time(thread["last_active"])
    roles = [t["role"] for t in threads]
    assert roles.count("consumer") == 5
    assert roles.count("monitor") == 1
    assert "producer" not in roles
    assert len({t["name"] for t in threads}) == len(threads)


def test_a_busy_consumer_shows_its_task(in_process: Server) -> None:
    task = in_process.submit({"type": "sleep", "payload": {"seconds": 1}})
    in_process.wait_status(task["id"], "processing")

    def busy() -> list[dict[str, Any]]:
        return [t for t in consumers(own_threads(in_process)) if t["task_id"] == task["id"]]

    [thread] = wait_until(busy, what="a consumer showing the task")
    assert thread["state"] != "idle"
    assert in_process.wait_final(task["id"])["status"] == "completed"


def test_a_handler_raising_system_exit_fails_its_task_and_the_thread_is_replaced(
    in_process: Server,
) -> None:
    restarts_before = sum(t["restarts"] for t in consumers(own_threads(in_process)))
    task = in_process.submit({"type": "quit_thread"})
    failed = in_process.wait_final(task["id"])
    assert failed["status"] == "failed"
    assert "SystemExit" in failed["error"]

    def replaced() -> bool:
        pool = consumers(own_threads(in_process))
        return len(pool) == 5 and sum(t["restarts"] for t in pool) >= restarts_before + 1

    wait_until(replaced, what="the consumer restarted and the pool at 5")
    # the pool still works at full size: five sleeps run side by side
    sleeps = [in_process.submit({"type": "sleep", "payload": {"seconds": 1}}) for _ in range(5)]
    done = [in_process.wait_final(t["id"]) for t in sleeps]
    assert all(t["status"] == "completed" for t in done)
    starts = sorted(parse_time(t["started_at"]) for t in done)
    finishes = sorted(parse_time(t["finished_at"]) for t in done)
    assert starts[-1] < finishes[0], "the five ran at once"
    assert in_process.process.poll() is None


def test_an_async_handler_completes(in_process: Server) -> None:
    tasks = [in_process.submit({"type": "greet", "payload": {"name": f"n{i}"}}) for i in range(5)]
    done = [in_process.wait_final(t["id"]) for t in tasks]
    assert [(t["status"], t["result"]) for t in done] == [
        ("completed", f"hello n{i}") for i in range(5)
    ]


def test_an_async_handler_raising_system_exit_fails_its_task_only(server: ServerFactory) -> None:
    s = server("--processes", "0", "--app", "userapp:app")
    task = s.submit({"type": "quit_loop", "max_attempts": 1})
    failed = s.wait_final(task["id"], timeout_s=10)
    assert failed["status"] == "failed"
    assert "SystemExit" in (failed["error"] or "")
    assert s.get("/health").json() == {"status": "ok"}
    greeting = s.wait_final(s.submit({"type": "greet", "payload": {"name": "ada"}})["id"])
    assert greeting["result"] == "hello ada"


def test_default_serve_runs_supervised_worker_processes(server: ServerFactory) -> None:
    """The default on a multi-core machine: child worker processes, each with 5 consumers
    and a monitor, listed under /workers; SystemExit in one is survived there too."""
    s = server("--app", "userapp:app", "--threads", "5")
    supervisor_info = wait_until(
        lambda: next((w for w in s.workers() if w["id"] == s.node_id), None),
        what="the server listed",
    )
    assert supervisor_info["pid"] == s.pid
    assert any(t["role"] == "monitor" for t in supervisor_info["threads"])
    expected = len(supervisor_info["info"].get("processes", []))

    def children() -> list[dict[str, Any]]:
        return [w for w in s.workers() if w["id"] != s.node_id and w["threads"]]

    if expected:
        wait_until(lambda: len(children()) == expected, what="worker processes listed")
        for child in children():
            roles = [t["role"] for t in child["threads"]]
            assert roles.count("consumer") == 5, roles
            assert roles.count("monitor") == 1, roles
            assert child["info"]["threads"] == 5
            assert child["alive"] is True
    else:  # a single core: workers run in the server process
        assert [t["role"] for t in supervisor_info["threads"]].count("consumer") == 5

    task = s.submit({"type": "quit_thread"})
    failed = s.wait_final(task["id"])
    assert (failed["status"], "SystemExit" in failed["error"]) == ("failed", True)
    if expected:
        holder = failed["handled_by"]

        def holder_replaced() -> bool:
            [child] = [w for w in s.workers() if w["id"] == holder]
            pool = consumers(child["threads"])
            return len(pool) == 5 and sum(t["restarts"] for t in pool) >= 1

        # children report their threads with each heartbeat (every 2 s)
        wait_until(holder_replaced, timeout_s=20, what="the consumer restarted in the child")
    done = s.wait_final(s.submit({"type": "add", "payload": {"a": 2, "b": 3}})["id"])
    assert done["result"] == 5
    child_pids = [c["pid"] for c in supervisor_info["info"].get("processes", [])]
    assert s.stop() == 0  # SIGTERM: a clean stop, worker processes included
    assert not [pid for pid in child_pids if pid_alive(pid)]


def test_demo_mode_has_a_producer_and_tasks_appear_and_complete(server: ServerFactory) -> None:
    s = server("--demo", "--demo-rate", "20", "--processes", "0")
    roles = [t["role"] for t in own_threads(s)]
    assert roles.count("producer") == 1
    assert roles.count("consumer") == 5

    def some_completed() -> bool:
        return s.stats()["completed"] >= 5

    wait_until(some_completed, timeout_s=20, what="demo tasks completed")
    tasks = s.get("/tasks", params={"limit": 100}).json()["tasks"]
    assert tasks
    assert {t["type"] for t in tasks} <= set(BUILTIN_TYPES)
    assert all(t["initiated_by"] == s.node_id for t in tasks)


def test_a_killed_worker_process_is_restarted_and_its_task_recovered(
    server: ServerFactory,
) -> None:
    s = server("--processes", "2", "--lease-seconds", "30")

    def supervisor() -> dict[str, Any]:
        [me] = [w for w in s.workers() if w["id"] == s.node_id]
        return me

    wait_until(
        lambda: len([w for w in s.workers() if w["id"] != s.node_id and w["threads"]]) == 2,
        what="two worker processes listed",
    )
    children = supervisor()["info"]["processes"]
    assert [c["node"] for c in children] == [f"{s.node_id}-w1", f"{s.node_id}-w2"]
    task = s.submit({"type": "sleep", "payload": {"seconds": 3}})
    holder = s.wait_status(task["id"], "processing")["handled_by"]
    [victim] = [c for c in children if c["node"] == holder]
    assert is_conveyor_process(victim["pid"])
    os.kill(victim["pid"], signal.SIGKILL)

    def restarted() -> bool:
        [child] = [c for c in supervisor()["info"]["processes"] if c["node"] == holder]
        return bool(child["restarts"] == 1 and child["alive"] and "SIGKILL" in child["last_exit"])

    wait_until(restarted, what="the killed worker process restarted")
    # recovered well before the 30 s lease runs out: the dead worker's task is reclaimed
    done = s.wait_final(task["id"], timeout_s=20)
    assert (done["status"], done["attempts"]) == ("completed", 2)
