"""The overview: headline counts and live charts, drawn from the stored history and then
from each pushed snapshot."""

from __future__ import annotations

import concurrent.futures
import re

from tests.browser.conftest import OpenDashboard
from tests.browser.support import expect
from tests.servers import ServerFactory, wait_until


def test_charts_move_when_load_runs(server: ServerFactory, dashboard: OpenDashboard) -> None:
    api = server("--processes", "0")
    board = dashboard(api)
    page = board.open("#/")
    # The history's points are drawn at once; a quiet server submitted nothing yet.
    wait_until(lambda: board.chart("throughput")["points"] > 0, 10, "history drawn")
    before = board.chart("throughput")
    assert before["max"]["submitted"] == 0, before
    expect(page.locator("#count-completed")).to_have_text("0")
    page.evaluate("window.notReloaded = true")

    def submit(n: int) -> int:
        return api.post("/tasks", json={"type": "echo", "payload": {"n": n}}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(submit, range(200))) == {201}

    wait_until(lambda: board.chart("throughput")["max"]["submitted"] > 0, 15, "submitted drawn")
    wait_until(lambda: board.chart("throughput")["max"]["completed"] > 0, 15, "completed drawn")
    expect(page.locator("#count-completed")).to_have_text("200", timeout=30_000)
    after = board.chart("throughput")
    assert after["points"] >= before["points"]
    # Run times exist once tasks finished; the percentile chart draws them.
    wait_until(lambda: board.chart("run")["max"]["run_p50"] > 0, 15, "run time drawn")
    assert page.evaluate("window.notReloaded") is True

    # The last hour: the same points, labelled as such.
    page.get_by_role("radio", name="last hour").check()
    label = page.get_attribute("#chart-throughput canvas", "aria-label") or ""
    assert "last hour" in label, label
    assert board.chart("throughput")["max"]["submitted"] > 0


def test_history_survives_a_restart(server: ServerFactory, dashboard: OpenDashboard) -> None:
    api = server("--processes", "0")
    for n in range(20):
        api.submit({"type": "echo", "payload": {"n": n}})
    wait_until(lambda: api.stats()["completed"] == 20, 15, "all completed")
    wait_until(
        lambda: any(p["submitted"] > 0 for p in api.get("/dashboard/history").json()["points"]),
        10,
        "a point with submissions",
    )
    api.stop()
    again = server("--processes", "0")
    board = dashboard(again)
    page = board.open("#/")
    wait_until(lambda: board.chart("throughput")["max"]["submitted"] > 0, 10, "old points drawn")
    expect(page.locator("#count-completed")).to_have_text("20")
    expect(page.locator("#connection-text")).to_have_text(re.compile(r"^live"))
