"""The page as a whole: keyboard and labels, and how it looks wide and on a phone
(screenshots kept in the test's folder and in tests/browser/artifacts/)."""

from __future__ import annotations

import re

from tests.browser.conftest import OpenDashboard
from tests.browser.support import NARROW, WIDE, expect
from tests.servers import ServerFactory, wait_until

PANELS = ("overview", "workers", "tasks", "submit")


def test_every_control_is_labelled_and_reached_by_keyboard(
    server: ServerFactory, dashboard: OpenDashboard
) -> None:
    api = server("--processes", "0")
    board = dashboard(api)
    page = board.open("#/")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("input, select, textarea, button, canvas")]
            .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute("aria-label")
                && !c.textContent.trim() && !c.closest("label"))
            .map((c) => c.outerHTML)"""
    )
    assert unlabelled == []
    # Tab from the top reaches the tabs; Enter on one shows its panel, focused.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Workers":
            break
    page.keyboard.press("Enter")
    expect(page.locator("#panel-workers")).to_be_visible()
    expect(page.locator("#workers-title")).to_be_focused()
    expect(page.get_by_role("link", name="Workers", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    # The range switch is a radio group the arrow keys move through.
    board.go("#/")
    page.get_by_role("radio", name="last 5 min").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="last hour")).to_be_checked()
    # An unknown route falls back to the overview.
    board.go("#/nowhere")
    expect(page.locator("#panel-overview")).to_be_visible()


def test_screenshots_wide_and_narrow(server: ServerFactory, dashboard: OpenDashboard) -> None:
    api = server("--processes", "0", "--queues", "default")
    api.submit({"type": "echo", "payload": {"parked": True}, "queue": "parked"})
    for n in range(60):
        api.submit({"type": "sleep", "payload": {"seconds": 0.05 * (n % 7)}})
    failed = api.submit({"type": "calculation", "payload": {"operation": "nope"}})
    wait_until(lambda: api.stats()["processing"] + api.stats()["pending"] <= 1, 30, "drained")
    shots = []
    for name, (width, height) in (("wide", WIDE), ("narrow", NARROW)):
        board = dashboard(api, width=width, height=height)
        page = board.open("#/")
        wait_until(lambda b=board: b.chart("run")["max"]["run_p99"] > 0, 10, "charts drawn")
        for panel in PANELS:
            board.go(f"#/{panel}")
            expect(page.locator(f"#panel-{panel}")).to_be_visible()
            if panel == "tasks":
                expect(page.locator("#tasks-rows tr")).to_have_count(50)  # a page
                page.get_by_role("button", name="Load more").click()
                expect(page.locator("#tasks-rows tr")).to_have_count(62)
            if panel == "workers":
                expect(page.locator("#workers-list article")).to_have_count(1)
            shots.append(board.screenshot(f"{name}-{panel}"))
        board.go(f"#/tasks/{failed['id']}")
        expect(page.locator("#task-status")).to_have_text("failed")
        shots.append(board.screenshot(f"{name}-task"))
        # Nothing wider than the screen but the tables, which scroll in their own box.
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name}: the page is {overflow} px wide"
        expect(page.locator("#connection-text")).to_have_text(re.compile("^live"))
    assert all(shot.stat().st_size > 10_000 for shot in shots)
