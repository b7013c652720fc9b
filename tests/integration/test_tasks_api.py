"""Reading, waiting for, listing and cancelling tasks over HTTP, against a server with
workers (default settings: worker child processes on a multi-core machine)."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.servers import (
    Server,
    ServerFactory,
    assert_problem,
    parse_time,
    wait_until,
)

UNKNOWN_ID = "01a2bc00-0000-7000-8000-000000000000"


@pytest.fixture(scope="module")
def api(module_server: ServerFactory) -> Server:
    return module_server("--app", "userapp:app")


def unique_queue(prefix: str) -> str:
    """A queue no worker consumes (workers consume only "default")."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_an_unknown_id_is_a_404_problem(api: Server) -> None:
    problem = assert_problem(api.get(f"/tasks/{UNKNOWN_ID}"), 404)
    assert UNKNOWN_ID in problem["detail"]
    assert_problem(api.get("/tasks/not-a-uuid"), 404)
    assert_problem(api.get(f"/tasks/{UNKNOWN_ID}", params={"wait": 1}), 404)


def test_wait_returns_the_completed_task_with_its_result(api: Server) -> None:
    task = api.submit({"type": "add", "payload": {"a": 2, "b": 3}})
    started = time.monotonic()
    response = api.get(f"/tasks/{task['id']}", params={"wait": 15})
    assert response.status_code == 200
    done = response.json()
    assert time.monotonic() - started < 5  # woken when it finished, not at the deadline
    assert (done["status"], done["result"], done["error"], done["attempts"]) == (
        "completed",
        5,
        None,
        1,
    )
    assert done["handled_by"]
    assert done["initiated_by"] == api.node_id
    created, started_at, finished = (
        parse_time(done[f]) for f in ("created_at", "started_at", "finished_at")
    )
    assert created <= started_at <= finished
    assert parse_time(done["updated_at"]) >= started_at


def test_wait_on_an_unfinished_task_returns_it_after_about_the_wait(api: Server) -> None:
    task = api.submit({"type": "sleep", "payload": {"seconds": 4}})
    try:
        started = time.monotonic()
        response = api.get(f"/tasks/{task['id']}", params={"wait": 1})
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert response.json()["status"] in ("pending", "processing")
        assert 0.9 <= elapsed < 3.5, elapsed
    finally:
        api.post(f"/tasks/{task['id']}/cancel")


def test_wait_wakes_when_the_task_is_canceled(api: Server) -> None:
    task = api.submit({"type": "echo", "queue": unique_queue("idle")})
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        waiting = pool.submit(
            lambda: httpx.get(f"{api.base_url}/tasks/{task['id']}", params={"wait": 20}, timeout=30)
        )
        time.sleep(0.5)
        assert api.post(f"/tasks/{task['id']}/cancel").status_code == 200
        response = waiting.result(timeout=30)
    assert response.json()["status"] == "canceled"
    assert time.monotonic() - started < 10


def test_wait_zero_answers_at_once(api: Server) -> None:
    task = api.submit({"type": "echo", "queue": unique_queue("idle")})
    started = time.monotonic()
    assert api.get(f"/tasks/{task['id']}", params={"wait": 0}).json()["status"] == "pending"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("wait", "field"), [("-1", "wait"), ("soon", "wait"), ("3600", "wait")])
def test_a_bad_wait_is_a_422(api: Server, wait: str, field: str) -> None:
    task = api.submit({"type": "echo"})
    assert_problem(api.get(f"/tasks/{task['id']}", params={"wait": wait}), 422, field)


def test_a_handler_gets_its_context_and_async_handlers_complete(api: Server) -> None:
    task = api.submit({"type": "context", "payload": {"n": 7}})
    done = api.wait_final(task["id"])
    assert done["status"] == "completed", done
    assert done["result"]["task_id"] == task["id"]
    assert (done["result"]["attempt"], done["result"]["n"]) == (1, 7)
    greeting = api.wait_final(api.submit({"type": "greet", "payload": {"name": "ada"}})["id"])
    assert (greeting["status"], greeting["result"]) == ("completed", "hello ada")


def test_a_failing_handler_is_retried_then_failed_with_its_error(api: Server) -> None:
    task = api.submit({"type": "always_fails", "max_attempts": 2})
    failed = api.wait_final(task["id"], timeout_s=30)
    assert (failed["status"], failed["attempts"]) == ("failed", 2)
    assert failed["error"] == "ValueError: nope"
    assert failed["result"] is None
    assert failed["finished_at"] is not None


def list_all(api: Server, params: dict[str, Any], limit: int) -> tuple[list[str], int]:
    """Walk every page via next_cursor; (ids in order, pages)."""
    ids: list[str] = []
    cursor = None
    for pages in range(1, 100):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = api.get("/tasks", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) >= {"stats", "tasks", "next_cursor"}
        assert len(page["tasks"]) <= limit
        ids.extend(t["id"] for t in page["tasks"])
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages
    raise AssertionError("paging did not end")


def test_list_has_stats_for_every_status(api: Server) -> None:
    body = api.get("/tasks").json()
    assert set(body["stats"]) == {"pending", "processing", "completed", "failed", "canceled"}
    assert all(isinstance(n, int) and n >= 0 for n in body["stats"].values())


def test_list_pages_walk_every_task_once_newest_first(api: Server) -> None:
    queue = unique_queue("paging")
    ids = [
        api.submit({"type": "echo", "queue": queue, "payload": {"n": n}})["id"] for n in range(7)
    ]
    seen, pages = list_all(api, {"queue": queue}, limit=3)
    assert pages == 3
    assert seen == sorted(ids, reverse=True)
    exact, pages = list_all(api, {"queue": queue}, limit=7)
    assert exact == seen
    assert pages in (1, 2)  # a last, empty page is allowed; no task twice
    one_page = api.get("/tasks", params={"queue": queue, "limit": 50}).json()
    assert one_page["next_cursor"] is None
    assert [t["id"] for t in one_page["tasks"]] == seen


def test_list_filters_by_status_type_and_queue(api: Server) -> None:
    queue = unique_queue("filters")
    echoes = [api.submit({"type": "echo", "queue": queue})["id"] for _ in range(3)]
    adds = [api.submit({"type": "add", "queue": queue, "payload": {"a": 1, "b": 1}})["id"]]
    canceled = echoes.pop()
    assert api.post(f"/tasks/{canceled}/cancel").status_code == 200

    def ids(**params: str) -> set[str]:
        found, _ = list_all(api, {"queue": queue, **params}, limit=2)
        return set(found)

    assert ids() == {*echoes, *adds, canceled}
    assert ids(type="echo") == {*echoes, canceled}
    assert ids(type="add") == set(adds)
    assert ids(status="pending") == {*echoes, *adds}
    assert ids(status="canceled") == {canceled}
    assert ids(status="pending", type="echo") == set(echoes)
    assert ids(status="completed") == set()
    assert ids(type="nope") == set()
    done = api.wait_final(api.submit({"type": "echo"})["id"])
    completed, _ = list_all(api, {"status": "completed", "type": "echo"}, limit=500)
    assert done["id"] in completed
    for task in api.get("/tasks", params={"status": "completed"}).json()["tasks"]:
        assert task["status"] == "completed"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "sideways"}, "status"), ({"limit": "0"}, "limit"), ({"limit": "x"}, "limit")],
)
def test_bad_list_parameters_are_422(api: Server, params: dict[str, str], field: str) -> None:
    assert_problem(api.get("/tasks", params=params), 422, field)


def test_cancel_a_pending_task_and_it_never_runs(api: Server) -> None:
    task = api.submit({"type": "echo", "delay": 1.5})
    response = api.post(f"/tasks/{task['id']}/cancel")
    assert response.status_code == 200, response.text
    canceled = response.json()
    assert canceled["status"] == "canceled"
    assert canceled["finished_at"] is not None
    assert api.get(f"/tasks/{task['id']}", params={"wait": 1}).json()["status"] == "canceled"
    time.sleep(1.5)  # past the delay: a worker would have taken it by now
    later = api.task(task["id"])
    assert (later["status"], later["attempts"], later["started_at"], later["result"]) == (
        "canceled",
        0,
        None,
        None,
    )


def test_cancel_a_task_on_a_queue_nobody_consumes(api: Server) -> None:
    task = api.submit({"type": "echo", "queue": unique_queue("nobody")})
    assert api.post(f"/tasks/{task['id']}/cancel").json()["status"] == "canceled"
    assert api.task(task["id"])["status"] == "canceled"


def test_cancel_a_finished_task_is_409(api: Server) -> None:
    done = api.wait_final(api.submit({"type": "echo"})["id"])
    assert done["status"] == "completed"
    problem = assert_problem(api.post(f"/tasks/{done['id']}/cancel"), 409)
    assert "completed" in problem["detail"]
    assert api.task(done["id"])["status"] == "completed"


def test_cancel_twice_is_409(api: Server) -> None:
    task = api.submit({"type": "echo", "queue": unique_queue("nobody")})
    assert api.post(f"/tasks/{task['id']}/cancel").status_code == 200
    problem = assert_problem(api.post(f"/tasks/{task['id']}/cancel"), 409)
    assert "canceled" in problem["detail"]


def test_cancel_an_unknown_task_is_404(api: Server) -> None:
    assert_problem(api.post(f"/tasks/{UNKNOWN_ID}/cancel"), 404)


def test_cancel_a_running_task_is_202_then_it_stops(api: Server) -> None:
    task = api.submit({"type": "sleep", "payload": {"seconds": 20}})
    api.wait_status(task["id"], "processing")
    response = api.post(f"/tasks/{task['id']}/cancel")
    assert response.status_code == 202, response.text
    assert response.json()["cancel_requested"] is True
    final = api.wait_final(task["id"], timeout_s=15)
    assert final["status"] == "canceled"


def test_retry_puts_a_canceled_task_back(api: Server) -> None:
    task = api.submit({"type": "add", "payload": {"a": 20, "b": 22}, "delay": 60})
    assert api.post(f"/tasks/{task['id']}/cancel").status_code == 200
    again = api.post(f"/tasks/{task['id']}/retry")
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "pending"
    done = api.wait_final(task["id"])
    assert (done["status"], done["result"]) == ("completed", 42)
    assert_problem(api.post(f"/tasks/{task['id']}/retry"), 409)


def test_calculation_factorial_within_its_documented_range(api: Server) -> None:
    task = api.submit(
        {
            "type": "calculation",
            "payload": {"input_value": 170, "operation": "factorial"},
            "max_attempts": 1,
        }
    )
    done = api.wait_final(task["id"], timeout_s=30)
    assert done["status"] == "completed", done["error"]
    assert done["result"]["result"] > 7e306
    over = api.submit(
        {
            "type": "calculation",
            "payload": {"input_value": 171, "operation": "factorial"},
            "max_attempts": 1,
        }
    )
    failed = api.wait_final(over["id"], timeout_s=30)
    assert failed["status"] == "failed"
    assert "factorial takes 0 to 170" in failed["error"]


def test_the_builtin_types_compute(api: Server) -> None:
    bodies = {
        "calculation": {"input_value": 12, "operation": "square"},
        "validation": {"data": {"x": 20}, "rules": {"max": 15, "required": ["y"]}},
        "add": {"a": 0.5, "b": 2},
        "sleep": {"seconds": 0.1},
        "echo": {"message": "hi", "n": [1, 2]},
    }
    ids = {kind: api.submit({"type": kind, "payload": body})["id"] for kind, body in bodies.items()}
    results = {kind: api.wait_final(task_id)["result"] for kind, task_id in ids.items()}
    assert results["calculation"]["result"] == 144
    assert results["validation"] == {"valid": False, "errors": ["missing y", "x above 15"]}
    assert results["add"] == 2.5
    assert results["sleep"] == {"slept": 0.1}
    assert results["echo"] == {"message": "hi", "n": [1, 2]}


def test_stats_agree_with_the_tasks_listed(api: Server) -> None:
    """Run last: after submits, runs, failures, cancels and retries, the counts by status
    match what a walk over every task finds."""
    wait_until(lambda: api.stats()["processing"] == 0, timeout_s=20, what="nothing running")
    counts: dict[str, int] = {}
    for status in ("pending", "processing", "completed", "failed", "canceled"):
        ids, _ = list_all(api, {"status": status}, limit=1000)
        counts[status] = len(ids)
    everything, _ = list_all(api, {}, limit=1000)
    assert api.stats() == counts
    assert sum(counts.values()) == len(everything)
