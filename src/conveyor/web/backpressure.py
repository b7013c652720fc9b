"""Backpressure: at most N requests served at once; the next is refused at once with a
503 problem+json and Retry-After, instead of joining a backlog that only grows."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from conveyor.api.problems import problem
from conveyor.metrics import Metrics

NEVER_REFUSED = frozenset({"/health", "/ready", "/metrics"})
"""Probes and scrapes: an orchestrator must see a busy node as alive, and the metrics are
how anyone sees that it is busy. They are cheap, and are not counted against the limit."""


class ConcurrencyLimit:
    """Raw ASGI. Requests are counted from arrival until their response is sent; streams
    and long-polls (?wait=) count for as long as they are open."""

    def __init__(self, app: ASGIApp, limit: int, metrics: Metrics) -> None:
        self.app = app
        self.limit = limit
        self.active = 0
        self._shed = metrics.http_shed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_REFUSED:
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            self._shed.inc()
            refused = problem(
                503,
                "overloaded",
                "Server busy",
                f"{self.limit} requests are being served, the most this server takes at once",
                scope["path"],
            )
            await refused(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
