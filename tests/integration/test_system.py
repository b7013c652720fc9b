"""Health, readiness, status, identity, metrics and docs."""

from __future__ import annotations

import pytest

from tests.servers import Server, ServerFactory


@pytest.fixture(scope="module")
def server(module_servers: ServerFactory) -> Server:
    return module_servers()


def test_health_ready_status_whoami(server: Server) -> None:
    assert server.client.get("/health").json() == {"status": "ok"}
    assert server.client.get("/ready").status_code == 200
    status = server.client.get("/status").json()
    assert set(status) >= {"version", "node", "uptime_seconds", "backend", "tasks"}
    assert status["node"] == "node-0"
    assert status["backend"] == server.db_url
    assert server.client.get("/whoami").json()["node"] == "node-0"


def test_metrics_json_by_default_prometheus_when_asked(server: Server) -> None:
    server.client.post("/tasks", json={"type": "echo"})
    as_json = server.client.get("/metrics")
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_json.json()["submitted_total"] >= 1
    text = server.client.get("/metrics", headers={"Accept": "text/plain;version=0.0.4"})
    assert text.headers["content-type"].startswith("text/plain")
    assert "conveyor_tasks_submitted_total" in text.text
    openmetrics = server.client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text;version=1.0.0"}
    )
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.rstrip().endswith("# EOF")


def test_docs_and_openapi(server: Server) -> None:
    docs = server.client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower()
    schema = server.client.get("/openapi.json").json()
    assert "/tasks" in schema["paths"]
    assert "/tasks/{task_id}/cancel" in schema["paths"]
