"""The browser tests' page object and Playwright, imported where it is installed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.servers import Server

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # reported by the `chromium` fixture: a skip, or under CI a failure
    Browser = Page = expect = sync_playwright = None  # type: ignore[assignment,misc]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WIDE = (1400, 900)
NARROW = (390, 844)
LIVE_TIMEOUT_MS = 15_000

__all__ = [
    "ARTIFACTS",
    "CHROMIUM",
    "NARROW",
    "WIDE",
    "Browser",
    "Dashboard",
    "expect",
    "sync_playwright",
]


class Dashboard:
    """One browser page on a server's dashboard, and what its console said."""

    def __init__(self, page: Page, server: Server, shots: Path) -> None:
        self.page = page
        self.server = server
        self.shots = shots
        self.problems: list[str] = []
        self.allowed: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))

    def _console(self, message: object) -> None:
        if getattr(message, "type", "") == "error":
            self.problems.append(f"console error: {getattr(message, 'text', message)}")

    def allow(self, text: str) -> None:
        """A console error containing `text` is expected (e.g. the browser's own line
        for a 422 the test provokes)."""
        self.allowed.append(text)

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a in p for a in self.allowed)]

    def open(self, route: str = "#/") -> Page:
        """Load the page at `route` and wait until its stream is live."""
        self.page.goto(f"{self.server.base_url}/{route}")
        self.wait_live()
        return self.page

    def wait_live(self) -> None:
        """Until the stream is open and its first snapshot has been shown."""
        self.page.wait_for_selector('#connection[data-state="live"]', timeout=LIVE_TIMEOUT_MS)
        self.page.wait_for_selector("body[data-snapshots]", timeout=LIVE_TIMEOUT_MS)

    def go(self, route: str) -> None:
        """Navigate inside the page, as a click on a link would (no reload)."""
        self.page.evaluate("(hash) => { location.hash = hash; }", route)

    def screenshot(self, name: str) -> Path:
        """A full-page PNG in the test's folder, copied to tests/browser/artifacts/."""
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(path, ARTIFACTS / path.name)
        return path

    def chart(self, name: str) -> dict[str, Any]:
        """What a chart last drew: points, and max and last value per series."""
        drawn = self.page.get_attribute(f"#chart-{name} canvas", "data-drawn")
        assert drawn is not None, name
        data: dict[str, Any] = json.loads(drawn)
        return data
