"""The submit fast path answers on its own, ahead of the framework: stored tasks as 201,
refusals as problem+json, and an unforeseen failure as a logged 500 problem."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import pytest
from fastapi import FastAPI

from conveyor.api.fastpath import SubmitFastPath
from conveyor.backends.sqlite import SQLiteBackend
from conveyor.demo import builtin_registry
from conveyor.service import Submitted, TaskRequest, TaskService


class FailingService(TaskService):
    """A service whose storage breaks in a way nobody anticipated."""

    async def submit(
        self, requests: Sequence[TaskRequest], *, batch: bool = False
    ) -> list[Submitted]:
        raise RuntimeError("disk on fire")


def client(service: TaskService) -> httpx.AsyncClient:
    path = SubmitFastPath(FastAPI(), service=service, max_body_bytes=1000)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=path), base_url="http://test")


async def test_a_task_is_stored_and_shown(backend: SQLiteBackend) -> None:
    async with client(TaskService(backend, builtin_registry(), "node-a")) as http:
        response = await http.post("/tasks", json={"type": "echo", "payload": {"n": 1}})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    shown = response.json()
    assert (shown["status"], shown["checked_by"]) == ("pending", "node-a")
    [stored] = await backend.get([shown["id"]])
    assert stored is not None
    assert stored.payload == {"n": 1}


async def test_an_unforeseen_failure_is_a_logged_500_problem(
    backend: SQLiteBackend, caplog: pytest.LogCaptureFixture
) -> None:
    async with client(FailingService(backend, builtin_registry(), "node-a")) as http:
        response = await http.post("/tasks", json={"type": "echo", "payload": {"n": 1}})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/internal-error"
    assert "disk on fire" in caplog.text


async def test_a_body_over_the_limit_is_refused_unread(backend: SQLiteBackend) -> None:
    async with client(TaskService(backend, builtin_registry(), "node-a")) as http:
        response = await http.post("/tasks", content=b'{"type": "echo"}' + b" " * 1000)
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/body-too-large"
    assert (await backend.stats()).by_status.get("pending", 0) == 0
