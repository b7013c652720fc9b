"""The dashboard's data: one event stream of snapshots, and a chart history that
survives a restart."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson

from tests.servers import Server, ServerFactory, wait_until


def snapshots(server: Server, count: int, timeout_s: float = 15) -> Iterator[dict[str, Any]]:
    """The next `count` snapshots from GET /dashboard/events."""
    with (
        httpx.Client(base_url=server.base_url, timeout=timeout_s) as client,
        client.stream("GET", "/dashboard/events") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        seen = 0
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == "snapshot":
                yield orjson.loads(line[len("data: ") :])
                seen += 1
                if seen == count:
                    return


def test_snapshots_carry_counts_rates_percentiles_and_workers(server: ServerFactory) -> None:
    api = server("--processes", "0")
    first = next(snapshots(api, 1))
    assert first["node"] == api.node_id
    assert set(first["counts"]) == {"pending", "processing", "completed", "failed", "canceled"}
    assert any(thread["role"] == "consumer" for thread in first["workers"][0]["threads"])
    body = {"tasks": [{"type": "sleep", "payload": {"seconds": 0.02}} for _ in range(40)]}
    assert api.post("/tasks", json=body).status_code == 201
    moved = None
    started = time.monotonic()
    for snapshot in snapshots(api, 20):
        point = snapshot["point"]
        if point["submitted"] > 0 and point["run_p50"] is not None:
            moved = snapshot
            break
    assert moved is not None, "no snapshot showed the submits"
    assert time.monotonic() - started < 10
    assert 0.015 <= moved["point"]["run_p50"] < 2
    done = next((s for s in snapshots(api, 15) if s["counts"]["completed"] == 40), None)
    assert done is not None, "the stream never showed all 40 completed"


def test_the_history_survives_a_restart(server: ServerFactory) -> None:
    first = server("--processes", "0")
    assert (
        first.post("/tasks", json={"type": "add", "payload": {"a": 1, "b": 2}}).status_code == 201
    )
    wait_until(
        lambda: any(p["submitted"] > 0 for p in first.get("/dashboard/history").json()["points"]),
        10,
        "a point with the submit",
    )
    before = first.get("/dashboard/history").json()["points"]
    first.stop()
    second = server("--processes", "0")
    wait_until(lambda: len(second.get("/dashboard/history").json()["points"]) > len(before), 10)
    after = second.get("/dashboard/history").json()["points"]
    assert [p["t"] for p in after[: len(before)]] == [p["t"] for p in before]
    assert all(a["t"] < b["t"] for a, b in itertools.pairwise(after))
    recent = second.get("/dashboard/history", params={"seconds": 1}).json()["points"]
    assert len(recent) <= 2
    assert second.get("/dashboard/history", params={"seconds": 0}).status_code == 422
