"""Device type (desktop, mobile, tablet, bot, other) from a User-Agent, with ua-parser."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ua_parser import Parser

DEVICES = ("desktop", "mobile", "tablet", "bot", "other")

_MOBILE_OS = frozenset(
    {
        "iOS",
        "Android",
        "Windows Phone",
        "Windows Mobile",
        "Windows CE",
        "BlackBerry OS",
        "Symbian OS",
        "Firefox OS",
        "KaiOS",
        "Tizen",
        "Sailfish",
        "Bada",
        "webOS",
    }
)
_MOBILE_DEVICES = frozenset({"iPhone", "iPod", "Generic Smartphone", "Generic Feature Phone"})
_DESKTOP_OS = frozenset(
    {
        "Mac OS X",
        "Linux",
        "Ubuntu",
        "Kubuntu",
        "Debian",
        "Fedora",
        "Red Hat",
        "SUSE",
        "Gentoo",
        "Mint",
        "Chrome OS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
    }
)
_MAX_UA_BYTES = 512
"""Longer User-Agents are classified by their start: the parser's time grows with length."""


class DeviceClassifier:
    """`classify(user_agent_bytes)` -> one of DEVICES, remembered per distinct User-Agent.

    ua-parser is imported and its rules compiled on first use (about 0.2 s of CPU), not
    at import: `warm()` pays that off the event loop when the server starts.
    """

    def __init__(self, remembered: int = 4096) -> None:
        self._parser: Parser | None = None
        self._lock = threading.Lock()
        self._remembered = functools.lru_cache(maxsize=remembered)(self._parse)

    def classify(self, user_agent: bytes) -> str:
        if len(user_agent) > _MAX_UA_BYTES:
            user_agent = user_agent[:_MAX_UA_BYTES]
        return self._remembered(user_agent)

    def warm(self) -> None:
        """Build the parser and compile the rules the common browsers need."""
        for sample in (
            b"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"
            b" (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
            b" (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
            b"curl/8.5.0",
        ):
            self.classify(sample)

    def _parse(self, user_agent: bytes) -> str:
        from ua_parser import Domain

        result = self._parser_once()(user_agent.decode("latin-1"), Domain.DEVICE | Domain.OS)
        device = result.device
        family = device.family if device else "Other"
        brand = (device.brand or "") if device else ""
        if family == "Spider":  # ua-parser's family for crawlers of every kind
            return "bot"
        if (
            family == "iPad"
            or "Tablet" in family
            or "tablet" in brand.lower()
            or family.startswith("Kindle")
        ):
            return "tablet"
        os_family = result.os.family if result.os else "Other"
        if os_family in _MOBILE_OS or family in _MOBILE_DEVICES:
            return "mobile"
        if os_family in _DESKTOP_OS or os_family.startswith("Windows"):
            return "desktop"
        return "other"

    def _parser_once(self) -> Parser:
        with self._lock:
            if self._parser is None:
                # Imported here: ua-parser and its YAML loader take ~0.1 s to import, which
                # every `conveyor` command would pay otherwise.
                from ua_parser import BasicResolver, Parser, load_lazy_builtins

                self._parser = Parser(BasicResolver(load_lazy_builtins()))
            return self._parser
