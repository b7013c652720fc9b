"""The workers panel: every process and thread the server reports, stuck and dead marked."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import OpenDashboard
from tests.browser.support import expect
from tests.servers import ServerFactory, wait_until


def test_the_workers_panel_lists_every_thread(
    server: ServerFactory, dashboard: OpenDashboard
) -> None:
    api = server("--processes", "2", "--threads", "3")
    # The supervisor and its two worker processes, each with its threads.
    wait_until(lambda: len(api.workers()) == 3, 30, "three worker records")
    board = dashboard(api)
    page = board.open("#/workers")
    for worker in api.workers():
        card = page.get_by_role("article", name=f"Worker {worker['id']}", exact=True)
        expect(card).to_be_visible()
        for thread in worker["threads"]:
            expect(card.get_by_role("rowheader", name=thread["name"], exact=True)).to_be_visible()
    expect(page.locator("#workers-list .mark")).to_have_count(0)
    expect(page.locator("#workers-summary")).to_contain_text("3 processes")
    expect(page.locator("#workers-summary")).to_contain_text("0 stuck, 0 dead")

    # A busy thread names its task, linked to the task's page.
    task = api.submit({"type": "sleep", "payload": {"seconds": 3}})
    link = page.locator(f'#workers-list a[href="#/tasks/{task["id"]}"]')
    expect(link).to_be_visible(timeout=10_000)
    expect(page.locator("#count-workers")).to_have_text("1/6 busy")


def test_stuck_and_dead_threads_are_marked(server: ServerFactory, dashboard: OpenDashboard) -> None:
    api = server("--processes", "0")
    board = dashboard(api)
    page = board.open("#/workers")
    expect(page.locator("#workers-list article")).to_have_count(1)
    # A snapshot as the server would push it for a node in trouble: one idle thread
    # silent for a minute, one dead thread, and a dead worker process.
    snapshot: dict[str, Any] = {
        "time": "2026-01-01T00:01:00Z",
        "node": "n1",
        "counts": {},
        "point": None,
        "workers": [
            {
                "id": "n1", "node": "n1", "pid": 1, "alive": True,
                "started_at": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:01:00Z",
                "info": {"hostname": "h", "role": "supervisor", "processes": [
                    {"index": 0, "node": "n1-w1", "pid": 2, "alive": False, "restarts": 1,
                     "last_exit": "killed by SIGKILL"},
                ]},
                "threads": [
                    {"name": "consumer-1", "role": "consumer", "state": "idle", "task_id": None,
                     "last_active": "2026-01-01T00:00:00Z", "restarts": 0, "alive": True},
                    {"name": "consumer-2", "role": "consumer", "state": "dead", "task_id": None,
                     "last_active": "2026-01-01T00:00:59Z", "restarts": 2, "alive": False},
                    {"name": "consumer-3", "role": "consumer", "state": "busy", "task_id": "t1",
                     "last_active": "2026-01-01T00:00:00Z", "restarts": 0, "alive": True},
                ],
            },
            {
                "id": "n2", "node": "n2", "pid": 3, "alive": False,
                "started_at": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:10Z",
                "info": {}, "threads": [],
            },
        ],
    }  # fmt: skip
    marks = page.evaluate(
        """async (snapshot) => {
            const { workers } = await import("/ui/workers.js");
            workers.snapshot(snapshot);
            const rows = [...document.querySelectorAll("#workers-list tbody tr")];
            return {
                rows: rows.map((row) => [row.querySelector("th").textContent, row.className]),
                dead: [...document.querySelectorAll("article.dead")].map((a) => a.ariaLabel),
                children: document.querySelector(".children").textContent,
                summary: document.getElementById("workers-summary").textContent,
            };
        }""",
        snapshot,
    )
    assert marks["rows"] == [
        ["consumer-1 stuck", "stuck"],
        ["consumer-2 dead", "dead"],
        ["consumer-3 ", ""],  # busy for long is the task's timeout's business
    ]
    assert marks["dead"] == ["Worker n2"]
    assert "killed by SIGKILL" in marks["children"]
    assert "dead" in marks["children"]
    assert marks["summary"].endswith("1 stuck, 3 dead")
