"""Health, readiness, status, identity, metrics and docs."""

from __future__ import annotations

import pytest

from tests.servers import Server, ServerFactory

STATUSES = {"pending", "processing", "completed", "failed", "canceled"}


@pytest.fixture(scope="module")
def api(module_server: ServerFactory) -> Server:
    return module_server("--processes", "0")


def test_health(api: Server) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}


def test_ready(api: Server) -> None:
    response = api.get("/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_status(api: Server) -> None:
    api.wait_final(api.submit({"type": "echo"})["id"])
    status = api.get("/status").json()
    assert set(status) >= {"version", "node", "uptime_seconds", "backend", "tasks"}
    assert status["version"] == "0.1.0"
    assert status["node"] == api.node_id
    assert isinstance(status["uptime_seconds"], int | float)
    assert status["uptime_seconds"] >= 0
    assert status["backend"] == api.db_url
    assert set(status["tasks"]) == STATUSES
    assert status["tasks"]["completed"] >= 1
    later = api.get("/status").json()["uptime_seconds"]
    assert later >= status["uptime_seconds"]


def test_whoami(api: Server) -> None:
    me = api.get("/whoami").json()
    assert me["node"] == api.node_id
    assert me["pid"] == api.pid


def test_metrics_are_json_by_default(api: Server) -> None:
    api.wait_final(api.submit({"type": "echo"})["id"])
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):
        response = api.get("/metrics", headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json"), headers
        body = response.json()
        assert body["node"] == api.node_id
        assert set(body["tasks"]) == STATUSES
        assert body["submitted_total"] >= 1


def test_metrics_are_prometheus_text_when_asked(api: Server) -> None:
    api.wait_final(api.submit({"type": "echo"})["id"])
    response = api.get("/metrics", headers={"Accept": "text/plain"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE conveyor_tasks_submitted_total counter" in text
    assert 'conveyor_tasks_submitted_total{type="echo"}' in text
    assert "# EOF" not in text


def test_metrics_are_openmetrics_when_asked_as_prometheus_does(api: Server) -> None:
    accept = (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
        "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )
    response = api.get("/metrics", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
    assert "conveyor_tasks_submitted" in response.text


def test_metrics_honour_a_preference_for_json(api: Server) -> None:
    response = api.get("/metrics", headers={"Accept": "application/json, text/plain;q=0.5"})
    assert response.headers["content-type"].startswith("application/json")


def test_docs_and_openapi(api: Server) -> None:
    docs = api.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "cdn" not in docs.text.lower()  # served from the package: works offline
    schema_response = api.get("/openapi.json")
    assert schema_response.status_code == 200
    schema = schema_response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/tasks", "/tasks/{task_id}", "/tasks/{task_id}/cancel", "/health", "/workers"):
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/tasks"]
