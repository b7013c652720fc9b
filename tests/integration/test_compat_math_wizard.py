"""Seed 003 (Distributed Math Wizard): sync add, queued add with the three identities,
whoami, backend diagnostics, and the page with the add panel."""

from __future__ import annotations

import pytest

from tests.servers import Server, ServerFactory, assert_problem

UNKNOWN_ID = "01a2bc00-0000-7000-8000-000000000000"


@pytest.fixture(scope="module")
def api(module_server: ServerFactory) -> Server:
    return module_server()


@pytest.mark.parametrize(
    ("a", "b", "result"), [("2", "3", 5), ("2.5", "-1", 1.5), ("1e3", "0", 1000.0)]
)
def test_add_answers_the_sum_at_once(api: Server, a: str, b: str, result: float) -> None:
    response = api.get("/add", params={"a": a, "b": b})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] == result
    assert type(body["result"]) is type(result)
    assert body["handled_by"] == api.node_id


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"a": "2"}, "b"),
        ({"a": "two", "b": "3"}, "a"),
        ({"a": "nan", "b": "1"}, "a"),
        ({"a": "1", "b": "inf"}, "b"),
        ({"a": "", "b": "1"}, "a"),
    ],
)
def test_bad_or_missing_numbers_are_422(api: Server, query: dict[str, str], field: str) -> None:
    assert_problem(api.get("/add", params=query), 422, field)


def test_a_queued_add_reports_who_initiated_checked_and_handled_it(api: Server) -> None:
    response = api.post("/task", json={"a": 20, "b": 22})
    assert response.status_code == 201, response.text
    queued = response.json()
    assert set(queued) == {"task_id", "status", "initiated_by"}
    assert queued["initiated_by"] == api.node_id
    assert response.headers["location"] == f"/tasks/{queued['task_id']}/status"
    api.wait_final(queued["task_id"])
    status = api.get(f"/tasks/{queued['task_id']}/status").json()
    assert (status["status"], status["result"]) == ("completed", 42)
    assert status["initiated_by"] == status["checked_by"] == api.node_id
    assert status["handled_by"].startswith(api.node_id)  # this node's worker (process)


def test_status_of_a_pending_task_has_no_result_or_handler_yet(api: Server) -> None:
    queue = "not-consumed"
    task = api.submit({"type": "add", "payload": {"a": 1, "b": 2}, "queue": queue})
    status = api.get(f"/tasks/{task['id']}/status").json()
    assert status["status"] == "pending"
    assert "result" not in status
    assert "handled_by" not in status
    assert status["checked_by"] == api.node_id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"a": 1}, "b"),
        ({"a": "1", "b": 2}, "a"),
        ({"a": True, "b": 2}, "a"),
        ({"a": 1, "b": 2, "c": 3}, "c"),
        ({"a": 1, "b": 2, "content": "x"}, "body"),
    ],
)
def test_a_bad_task_body_is_422_and_stores_nothing(
    api: Server, body: dict[str, object], field: str
) -> None:
    before = api.total()
    assert_problem(api.post("/task", json=body), 422, field)
    assert api.total() == before


def test_an_unknown_task_status_is_404(api: Server) -> None:
    assert_problem(api.get(f"/tasks/{UNKNOWN_ID}/status"), 404)


def test_whoami_names_the_node_role_and_version(api: Server) -> None:
    me = api.get("/whoami").json()
    assert me["node"] == api.node_id
    assert me["role"] == "api+worker"
    assert me["version"]


def test_valkey_test_reports_the_backend(api: Server) -> None:
    response = api.get("/valkey_test")
    assert response.status_code == 200, response.text
    facts = response.json()
    assert facts["reachable"] is True
    assert facts["kind"] == "sqlite"
    assert facts["journal_mode"] == "wal"
    assert facts["round_trip_ms"] >= 0
    assert facts["checked_by"] == api.node_id


def test_the_page_at_root_has_the_add_panel(api: Server) -> None:
    page = api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="add-form"' in page.text
    script = api.get("/ui/app.js")
    assert script.status_code == 200
    assert "/tasks/${taskId}/status" in script.text
    assert api.get("/ui/..%2Fapi%2Fapp.py").status_code == 404
    assert api.get("/ui/missing.js").status_code == 404
