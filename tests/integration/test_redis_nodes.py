"""API-only and worker-only nodes on one Redis: identity, shared workers, cross-node cancel."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_support import delete_prefix, require_redis, unique_redis_url
from tests.servers import ServerFactory, wait_until


@pytest.fixture
def redis_url() -> Iterator[str]:
    require_redis()
    url = unique_redis_url()
    yield url
    delete_prefix(url)


def test_a_task_records_which_node_accepted_ran_and_answered(
    server: ServerFactory, redis_url: str
) -> None:
    api = server("--no-workers", backend=redis_url, node_id="api-1")
    server.worker(redis_url, "--processes", "1", node_id="worker-1")
    other_api = server("--no-workers", backend=redis_url, node_id="api-2")

    task = api.wait_final(api.submit({"type": "echo", "payload": {"n": 1}})["id"])
    assert task["status"] == "completed"
    assert task["result"] == {"n": 1}
    assert task["initiated_by"] == "api-1"
    assert task["handled_by"] == "worker-1-w1"
    assert task["checked_by"] == "api-1"
    assert other_api.task(task["id"])["checked_by"] == "api-2"

    me = api.get("/whoami").json()
    assert me["node"] == "api-1"
    assert me["role"] == "api"

    # Seed 003's view of the same task, and of the store it is in.
    status = other_api.get(f"/tasks/{task['id']}/status").json()
    assert (status["initiated_by"], status["checked_by"]) == ("api-1", "api-2")
    assert status["handled_by"] == "worker-1-w1"
    diagnostics = api.get("/valkey_test").json()
    assert diagnostics["kind"] in ("redis", "valkey")
    assert diagnostics["server_version"]


def test_the_api_node_lists_the_worker_nodes_processes(
    server: ServerFactory, redis_url: str
) -> None:
    api = server("--no-workers", backend=redis_url, node_id="api-1")
    server.worker(redis_url, "--processes", "2", node_id="worker-1")
    listed = wait_until(
        lambda: (ids := {w["id"] for w in api.workers()}) >= {"worker-1-w1", "worker-1-w2"} and ids,
        20,
        "both worker processes listed",
    )
    assert "worker-1" in listed  # the supervising process, with its children


def test_a_cancel_on_the_api_node_stops_a_task_on_a_worker_node(
    server: ServerFactory, redis_url: str
) -> None:
    api = server("--no-workers", backend=redis_url, node_id="api-1")
    server.worker(redis_url, "--processes", "1", node_id="worker-1")
    task = api.submit({"type": "sleep", "payload": {"seconds": 60}})
    api.wait_status(task["id"], "processing", 20)
    assert api.post(f"/tasks/{task['id']}/cancel").status_code == 202
    assert api.wait_final(task["id"], 15)["status"] == "canceled"


def test_a_worker_started_before_redis_answers_waits_for_it(
    server: ServerFactory, redis_url: str
) -> None:
    """A worker pointed at a Redis that is not there yet keeps retrying, not crashing."""
    worker = server.worker("redis://127.0.0.1:1/0", "--processes", "0", node_id="early")
    wait_until(lambda: "backend unavailable; retrying" in worker.log(), 10, "a retry logged")
    assert worker.process.poll() is None
    assert worker.stop() == 0  # and a SIGTERM while waiting ends it cleanly
