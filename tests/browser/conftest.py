"""Fixtures: the machine's Chromium driven by Playwright, on real `conveyor serve` processes.

`chromium` is one headless browser per test module (Debian's /usr/bin/chromium; Playwright's
own browser download is not used). `server(*args)` starts servers as in tests/integration.
`dashboard(server, width=, height=)` opens a page on a server's `/` and fails the test, at
teardown, on any console error or uncaught exception the page had (but those it was told
to expect with `allow`). Screenshots go to the test's folder and to tests/browser/artifacts/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM, WIDE, Browser, Dashboard, sync_playwright
from tests.redis_support import service_missing
from tests.servers import Server, ServerFactory


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    # Per module, not per session: sync Playwright keeps an event loop running in this
    # thread while it is open, which would break every asyncio test collected after it.
    if sync_playwright is None:
        service_missing("Playwright", "the playwright package is not installed (make install)")
    if not CHROMIUM.exists():
        service_missing("Chromium", f"{CHROMIUM} is missing (make system-deps installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Servers on this test's own folder and database (stopped by PID at teardown)."""
    factory = ServerFactory(tmp_path, node_prefix="browser")
    try:
        yield factory
    finally:
        factory.close()


OpenDashboard = Callable[..., Dashboard]


@pytest.fixture
def dashboard(chromium: Browser, server: ServerFactory, tmp_path: Path) -> Iterator[OpenDashboard]:
    # Depends on `server` so that pages close before the servers stop.
    opened: list[Dashboard] = []

    def open_dashboard(target: Server, width: int = WIDE[0], height: int = WIDE[1]) -> Dashboard:
        context = chromium.new_context(viewport={"width": width, "height": height})
        board = Dashboard(context.new_page(), target, tmp_path / "screenshots")
        opened.append(board)
        return board

    try:
        yield open_dashboard
    finally:
        problems = [p for board in opened for p in board.unexpected()]
        for board in opened:  # before the servers stop, so their going is not an error
            board.page.context.close()
        assert not problems, "the page reported errors:\n" + "\n".join(problems)
