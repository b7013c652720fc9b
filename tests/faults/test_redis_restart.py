"""A Redis restart under load: the API answers 503 (never 201) while Redis is down, nothing
crashes, and every task accepted before the crash completes once Redis is back (AOF with
fsync always, so what Redis acknowledged survives its kill -9)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.faults.test_crash import executions
from tests.redis_support import RedisServer
from tests.servers import ServerFactory, free_port, wait_until

TASKS = 300


def test_accepted_tasks_survive_a_redis_kill_and_submits_get_503_meanwhile(
    workdir: Path,
) -> None:
    redis_server = RedisServer(workdir / "redis", free_port())
    redis_server.start()
    servers = ServerFactory(workdir, node_prefix="fault", backend=redis_server.url)
    try:
        api = servers("--processes", "0", "--app", "userapp:app")
        accepted: list[str] = []
        for n in range(TASKS // 10):
            body = {
                "tasks": [
                    {"type": "record", "payload": {"label": f"{n}-{i}", "seconds": 0.02}}
                    for i in range(10)
                ]
            }
            response = api.post("/tasks", json=body)
            assert response.status_code == 201, response.text
            accepted += [task["id"] for task in response.json()["tasks"]]
        redis_server.stop(signal.SIGKILL)

        response = api.post("/tasks", json={"type": "echo"})
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"]
        assert api.get("/ready").status_code == 503
        diagnostics = api.get("/valkey_test")
        assert diagnostics.status_code == 503
        assert diagnostics.json()["reachable"] is False
        time.sleep(1.5)  # the workers meet the outage too, mid-claim and mid-finish

        redis_server.start()  # the same folder: the append-only file is replayed
        wait_until(lambda: api.get("/ready").status_code == 200, 15, "ready again")

        def all_completed() -> bool:
            response = api.get("/tasks")
            return response.status_code == 200 and response.json()["stats"]["completed"] == TASKS

        wait_until(all_completed, 60, f"all {TASKS} accepted tasks completed")
        assert {api.task(task_id)["status"] for task_id in accepted} == {"completed"}
        assert api.process.poll() is None, "the server must ride out the outage"
        ran = executions(workdir)
        assert set(ran) == set(accepted)
        twice = [task_id for task_id, count in ran.items() if count > 1]
        assert len(twice) <= 10, f"only in-flight tasks may run again: {len(twice)} did"
        assert api.post("/tasks", json={"type": "echo"}).status_code == 201
    finally:
        servers.close()
        redis_server.stop()
