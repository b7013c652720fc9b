"""Request metrics as raw ASGI, outermost, so every response is counted, the submit fast
path's and the 503s of backpressure included: in flight, latency by route template,
responses by status, requests by device type."""

from __future__ import annotations

import asyncio
import time

from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor.metrics import Metrics
from conveyor.web.devices import DEVICES, DeviceClassifier

UNROUTED = "unrouted"
"""The route label of requests no route handled (404s, refusals at the limit): raw paths
would make one series per URL anyone tries."""

ROUTE_TEMPLATE = "conveyor.route"
"""The scope key a layer that answers ahead of routing (the submit fast path) sets to the
template of the route it stands in for."""

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    def __init__(
        self, app: ASGIApp, metrics: Metrics, devices: DeviceClassifier, router: Router
    ) -> None:
        self.app = app
        self.devices = devices
        self.router = router
        self.stats = metrics.http
        for device in DEVICES:  # every type shows, from zero
            self.stats.devices.setdefault(device, 0)
        self._plain_paths: frozenset[str] | None = None
        self._mounts: tuple[tuple[str, str], ...] = ()
        self._warming: asyncio.Future[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self._warming is None:
                self._warming = asyncio.get_running_loop().run_in_executor(None, self.devices.warm)
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets when the app raises before answering

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        stats = self.stats
        stats.in_flight += 1
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_counted)
        finally:
            elapsed = time.perf_counter() - started
            stats.in_flight -= 1
            method: str = scope["method"]
            user_agent = b""
            for name, value in scope["headers"]:
                if name == b"user-agent":
                    user_agent = value
                    break
            stats.observe(
                method if method in _METHODS else "OTHER",
                self._route(scope),
                status,
                self.devices.classify(user_agent),
                elapsed,
            )

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")  # set by FastAPI for its own routes
        if route is not None:
            return str(route.path)
        template = scope.get(ROUTE_TEMPLATE)
        if template is not None:
            return str(template)
        # Starlette's routes and mounts on the app itself (/openapi.json, /static/...).
        if self._plain_paths is None:
            routes = self.router.routes
            self._plain_paths = frozenset(
                route.path for route in routes if isinstance(route, Route) and "{" not in route.path
            )
            self._mounts = tuple(
                (f"{route.path}/", f"{route.path}/{{path}}")
                for route in routes
                if isinstance(route, Mount)
            )
        path: str = scope["path"]
        if path in self._plain_paths:
            return path
        for prefix, label in self._mounts:
            if path.startswith(prefix):
                return label
        return UNROUTED
