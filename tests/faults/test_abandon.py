"""A sync handler that overruns its timeout, or ignores a cancel, in a worker process: the
task ends on time, and the process running the handler exits (ending the runaway thread,
which Python cannot stop) and is replaced, while other tasks keep flowing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.servers import Server, StartServer, pid_alive, supervised_children, wait_until

REPLACED = "replaced: a handler overran its timeout/cancel grace and was abandoned"


def only_child(server: Server) -> dict[str, Any]:
    [child] = supervised_children(server)
    return child


def serving(server: Server, child: dict[str, Any]) -> bool:
    """The child process is up and has registered as a worker with its own pid."""
    records = [w for w in server.workers() if w["id"] == child["node"]]
    return child["alive"] and any(r["pid"] == child["pid"] for r in records)


@pytest.mark.parametrize("overrun", ["timeout", "cancel"])
def test_an_overrunning_handler_ends_with_its_worker_process(
    start_server: StartServer, overrun: str
) -> None:
    server = start_server(
        "--app",
        "userapp:app",
        "--processes",
        "1",
        "--threads",
        "2",
        env={"CONVEYOR_CANCEL_GRACE_SECONDS": "1"},
    )
    wait_until(lambda: serving(server, only_child(server)), what="the worker process serving")
    if overrun == "timeout":  # busy-looping, past its 1 s
        runaway = server.submit({"type": "spin", "timeout": 1, "max_attempts": 1})
    else:  # blocked forever, never looking at ctx.cancelled
        runaway = server.submit({"type": "hang"})
    running = server.wait_status(runaway["id"], "processing")
    first = only_child(server)
    assert running["handled_by"] == first["node"]
    others = [server.submit({"type": "add", "payload": {"a": n, "b": 1}})["id"] for n in range(20)]
    begun = time.monotonic()
    if overrun == "cancel":
        assert server.post(f"/tasks/{runaway['id']}/cancel").status_code == 202
    ended = server.wait_final(runaway["id"], timeout_s=15)
    assert time.monotonic() - begun < 6
    if overrun == "timeout":
        assert ended["status"] == "failed", ended
        assert "timed out after 1 s" in ended["error"]
    else:
        assert ended["status"] == "canceled", ended
        assert "did not stop within 1 s" in ended["error"]

    # The process running the abandoned handler is gone, and a new one serves.
    wait_until(lambda: not pid_alive(first["pid"]), timeout_s=15, what="the old process gone")
    second = wait_until(
        lambda: (
            (child := only_child(server))["pid"] != first["pid"]
            and serving(server, child)
            and child
        ),
        timeout_s=20,
        what="a new worker process serving",
    )
    assert second["restarts"] == 1
    assert REPLACED in second["last_exit"]
    for n, task_id in enumerate(others):
        done = server.wait_final(task_id)
        assert (done["status"], done["result"]) == ("completed", n + 1)
    after = server.wait_final(server.submit({"type": "add", "payload": {"a": 2, "b": 2}})["id"])
    assert (after["status"], after["result"], after["handled_by"]) == (
        "completed",
        4,
        second["node"],
    )
    assert only_child(server)["pid"] == second["pid"]  # replaced once, and only once
