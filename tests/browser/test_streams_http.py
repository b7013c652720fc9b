"""The Streams & HTTP panel: ingest streams, the HTTP server's metrics and the static file
cache's switch, refreshed as snapshots arrive."""

from __future__ import annotations

from tests.browser.conftest import OpenDashboard
from tests.browser.support import NARROW, expect
from tests.servers import ServerFactory


def test_streams_http_metrics_and_the_cache_switch(
    server: ServerFactory, dashboard: OpenDashboard
) -> None:
    api = server("--processes", "0")
    stored = api.post("/ingest/room-1", json={"t": 21.5})
    assert stored.status_code in (200, 201), stored.text

    board = dashboard(api)
    page = board.open("#/")
    tab = page.get_by_role("link", name="Streams & HTTP", exact=True)
    tab.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#panel-streams")).to_be_visible()
    expect(page.locator("#streams-title")).to_be_focused()
    expect(tab).to_have_attribute("aria-current", "page")

    # The stream's row, with its count; a second record shows on a later push.
    row = page.locator('#ingest-streams tr[data-stream="room-1"]')
    expect(row.get_by_role("rowheader", name="room-1")).to_be_visible()
    expect(row.locator("td").first).to_have_text("1")
    expect(page.locator("#ingest-queue")).to_contain_text("/")
    expect(page.locator("#ingest-errors")).to_have_text("0")
    assert api.post("/ingest/room-1", json={"t": 22.0}).status_code in (200, 201)
    expect(row.locator("td").first).to_have_text("2", timeout=10_000)

    # HTTP responses by status code: the ingest POSTs and the page's own GETs.
    statuses = page.locator("#http-statuses")
    expect(statuses.get_by_role("rowheader", name="200", exact=True)).to_be_visible()
    expect(
        statuses.get_by_role("rowheader", name=str(stored.status_code), exact=True)
    ).to_be_visible()
    expect(page.locator("#http-devices").get_by_role("rowheader", name="desktop")).to_be_visible()
    expect(page.locator("#http-routes")).to_contain_text("POST /ingest/{stream}")

    # The cache switch, by keyboard: the state shows at once and the server agrees.
    before = api.get("/cache").json()["enabled"]
    button = page.get_by_role("button", name="Use the static file cache")
    expect(button).to_have_attribute("aria-pressed", str(before).lower())
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-pressed", str(not before).lower())
    expect(page.locator("#cache-state")).to_have_text("on" if not before else "off")
    expect(page.locator("#cache-result")).to_contain_text("turned")
    assert api.get("/cache").json()["enabled"] is (not before)
    expect(button).to_be_focused()
    board.screenshot("streams-wide")

    # On a phone: everything fits the width (tables scroll inside their own box).
    phone = dashboard(api, width=NARROW[0], height=NARROW[1])
    small = phone.open("#/streams")
    expect(small.locator('#ingest-streams tr[data-stream="room-1"]')).to_be_visible()
    expect(small.locator("#cache-state")).to_have_text("on" if not before else "off")
    overflow = small.evaluate(
        """() => [document.documentElement, document.querySelector("nav"),
            document.querySelector("#http-routes .table-wrap")]
            .map((box) => box.scrollWidth - box.clientWidth)"""
    )
    assert overflow == [0, 0, 0]
    phone.screenshot("streams-narrow")
