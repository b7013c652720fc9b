"""Device types from real User-Agent strings."""

from __future__ import annotations

import pytest

from conveyor.web.devices import DeviceClassifier
from tests.integration.web_support import DESKTOP, GOOGLEBOT, IPAD, IPHONE

AGENTS = [
    (DESKTOP, "desktop"),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"
        " (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        "desktop",
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "desktop"),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "desktop",
    ),
    (IPHONE, "mobile"),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        "mobile",
    ),
    ("Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0", "mobile"),
    (IPAD, "tablet"),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36"
        " (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "tablet",
    ),
    ("Mozilla/5.0 (Android 14; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0", "tablet"),
    (GOOGLEBOT, "bot"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot"),
    ("curl/8.5.0", "other"),
    ("python-httpx/0.27.0", "other"),
    ("", "other"),
]


@pytest.fixture(scope="module")
def classifier() -> DeviceClassifier:
    return DeviceClassifier()


@pytest.mark.parametrize(("agent", "device"), AGENTS)
def test_device_type(classifier: DeviceClassifier, agent: str, device: str) -> None:
    assert classifier.classify(agent.encode()) == device


def test_long_agents_are_classified_by_their_start(classifier: DeviceClassifier) -> None:
    assert classifier.classify(IPHONE.encode() + b" x" * 10_000) == "mobile"
