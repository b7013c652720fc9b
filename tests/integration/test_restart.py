"""Nothing accepted is lost: crash a server (SIGKILL) mid-run or before any worker ran,
restart on the same database, and every accepted task completes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from tests.servers import (
    Server,
    ServerFactory,
    is_conveyor_process,
    parse_time,
    pid_alive,
    wait_until,
)

LEASE = ("--lease-seconds", "2")


def submit_mix(s: Server, count: int) -> list[str]:
    """Accepted (201) tasks: record tasks that take a while, sleeps and adds."""
    ids = []
    for n in range(count):
        if n % 3 == 0:
            body: dict[str, Any] = {"type": "sleep", "payload": {"seconds": 0.3}}
        elif n % 3 == 1:
            body = {"type": "record", "payload": {"label": f"r{n}", "seconds": 0.4}}
        else:
            body = {"type": "add", "payload": {"a": n, "b": 1}}
        ids.append(s.submit(body)["id"])
    return ids


def all_completed(s: Server, ids: list[str], timeout_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    done = [s.wait_final(task_id, max(1.0, deadline - time.monotonic())) for task_id in ids]
    assert [t["status"] for t in done] == ["completed"] * len(ids), [
        (t["id"], t["status"], t["error"]) for t in done if t["status"] != "completed"
    ]
    return done


def executions(workdir: Path) -> list[tuple[str, str, str]]:
    path = workdir / "executions.log"
    if not path.exists():
        return []
    runs = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 3:  # a line being written may be partial
            runs.append((fields[0], fields[1], fields[2]))
    return runs


def interrupted(workdir: Path) -> set[str]:
    """Ids of `record` tasks with a run that started and has not ended."""
    runs = executions(workdir)
    started = {(task_id, attempt) for kind, task_id, attempt in runs if kind == "start"}
    ended = {(task_id, attempt) for kind, task_id, attempt in runs if kind == "end"}
    return {task_id for task_id, _ in started - ended}


def test_sigkill_mid_run_then_restart_completes_every_accepted_task(
    server: ServerFactory, tmp_path: Path
) -> None:
    first = server("--processes", "0", "--app", "userapp:app", *LEASE)
    ids = submit_mix(first, 24)
    # kill while a handler is mid-run: a `record` task logged its start, not its end
    wait_until(lambda: interrupted(tmp_path), what="a task mid-run", every=0.02)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    cut_short = interrupted(tmp_path)
    assert cut_short

    second = server("--processes", "0", "--app", "userapp:app", *LEASE)
    assert second.node_id != first.node_id
    done = all_completed(second, ids, timeout_s=40)
    # the runs the crash cut short ran again: attempts count both
    by_id = {t["id"]: t for t in done}
    for task_id in cut_short:
        assert by_id[task_id]["attempts"] >= 2, by_id[task_id]
    for task in done:
        if task["type"] == "record":
            ends = [e for e in executions(tmp_path) if e[0] == "end" and e[1] == task["id"]]
            assert ends, f"no completed run logged for {task['id']}"
        if task["type"] == "add":
            assert task["result"] == task["payload"]["a"] + 1
    assert second.total() == len(ids)


def test_accepted_while_no_worker_runs_then_crash_then_a_server_runs_them(
    server: ServerFactory,
) -> None:
    api_only = server("--no-workers")
    ids = [api_only.submit({"type": "add", "payload": {"a": n, "b": n}})["id"] for n in range(10)]
    batch = api_only.post("/tasks", json={"tasks": [{"type": "echo", "payload": {"n": 1}}] * 5})
    assert batch.status_code == 201
    ids += [t["id"] for t in batch.json()["tasks"]]
    assert api_only.stats()["pending"] == 15
    assert api_only.stop(signal.SIGKILL) == -signal.SIGKILL  # right after the 201s

    worker = server("--processes", "0")
    done = all_completed(worker, ids, timeout_s=30)
    assert [t["result"] for t in done[:10]] == [2 * n for n in range(10)]
    assert all(t["attempts"] == 1 for t in done)


def test_sigterm_lets_a_running_task_finish_and_exits_0(server: ServerFactory) -> None:
    s = server("--processes", "0", "--grace-seconds", "10")
    task = s.submit({"type": "sleep", "payload": {"seconds": 1}})
    s.wait_status(task["id"], "processing")
    assert s.stop(signal.SIGTERM) == 0
    again = server("--no-workers")
    done = again.task(task["id"])
    assert (done["status"], done["attempts"]) == ("completed", 1)


def test_sigkill_of_a_server_with_worker_processes_loses_nothing(
    server: ServerFactory, tmp_path: Path
) -> None:
    """The default on a multi-core machine: the server supervises worker processes. Kill it
    with SIGKILL; its workers stop (they watch their parent); a new server runs the rest."""
    first = server("--app", "userapp:app", *LEASE)
    [me] = wait_until(
        lambda: [w for w in first.workers() if w["id"] == first.node_id], what="listed"
    )
    children = [c["pid"] for c in me["info"].get("processes", []) if c.get("pid")]
    ids = submit_mix(first, 18)
    wait_until(
        lambda: first.get("/tasks", params={"status": "processing"}).json()["tasks"],
        what="a task running",
        every=0.02,
    )
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    try:
        wait_until(
            lambda: not any(pid_alive(pid) for pid in children),
            timeout_s=20,
            what="orphaned worker processes gone",
            every=0.1,
        )
    finally:  # never leave a worker behind, even when the check failed
        for pid in children:
            if pid_alive(pid) and is_conveyor_process(pid):
                os.kill(pid, signal.SIGKILL)

    second = server("--app", "userapp:app", *LEASE)
    all_completed(second, ids, timeout_s=40)
    assert second.total() == len(ids)


def test_a_task_longer_than_its_lease_keeps_it_and_runs_once(server: ServerFactory) -> None:
    s = server("--processes", "0", "--lease-seconds", "1")
    task = s.submit({"type": "sleep", "payload": {"seconds": 3}})
    first = s.wait_status(task["id"], "processing")["lease_expires_at"]
    assert first is not None
    renewed = wait_until(
        lambda: (t := s.task(task["id"]))["lease_expires_at"] not in (None, first) and t,
        what="the lease renewed",
    )
    assert parse_time(renewed["lease_expires_at"]) > parse_time(first)
    done = s.wait_final(task["id"])
    assert (done["status"], done["attempts"], done["error"]) == ("completed", 1, None)
