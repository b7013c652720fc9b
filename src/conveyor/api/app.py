"""The ASGI app factory: one router per area over one Node."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Receive, Scope, Send

from conveyor import web
from conveyor.api import ingest, problems, system, tasks
from conveyor.api.compat import flask_threads, math_wizard, task_api, task_route
from conveyor.api.fastpath import SubmitFastPath
from conveyor.api.limits import BodySizeLimit
from conveyor.dashboard import api as dashboard_api
from conveyor.dashboard import routes as dashboard_routes
from conveyor.dashboard.history import HistoryStore, Sampler
from conveyor.heap import freeze_startup_objects
from conveyor.ingest.streams import IngestCollector, Ingestion
from conveyor.node import Node


class HttpApp:
    """What uvicorn serves: Conveyor's own raw-ASGI layers (request metrics, backpressure,
    sessions, the submit fast path) in front of the FastAPI app, so the hot route skips
    the framework's whole stack (its telemetry check, error and body-limit layers) and the
    framework serves the rest. (FastAPI's `add_middleware` would put these layers inside
    its own, which then run for every request.)"""

    def __init__(self, framework: FastAPI, front: ASGIApp, close_streams: Callable[[], None]):
        self.framework = framework
        self.front = front
        self.close_streams = close_streams
        """Called by `serve` when a stop begins: open dashboards would hold the stop."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.front(scope, receive, send)


def create_app(node: Node) -> HttpApp:
    """The HTTP app; starting it starts the node (backend, workers), stopping stops it."""

    settings = node.settings
    ingestion = Ingestion(
        settings.ingest_dir,
        settings.ingest_queue_size,
        settings.inactivity_warn_seconds,
        settings.ingest_history_size,
        settings.ingest_guard_formulas,
    )
    node.metrics.registry.register(IngestCollector(ingestion))
    sampler = Sampler(node.backend, HistoryStore(settings.dashboard_history_file))
    hub = dashboard_api.snapshot_builder(node, sampler)
    sampler.on_point = hub.publish

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await node.start()
        await ingestion.start()
        await sampler.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            await sampler.stop()
            await ingestion.stop()  # what was accepted is written before the node stops
            await node.stop()

    # FastAPIOffline serves /docs assets from the installed package: no CDN needed.
    app = FastAPIOffline(
        title="Conveyor",
        version=version("conveyor"),
        description="Durable task processing: submit over HTTP, run on supervised workers.",
        lifespan=lifespan,
    )
    problems.install(app)
    app.include_router(tasks.router(node.service, node.settings.max_wait_seconds))
    app.include_router(system.router(node, ingestion.seed_metrics))
    app.include_router(ingest.router(ingestion))
    for compat in (flask_threads, task_api, math_wizard, task_route):
        app.include_router(compat.router(node))
    app.include_router(dashboard_routes.router())
    app.include_router(dashboard_api.router(sampler, hub))
    app.add_middleware(BodySizeLimit, max_bytes=node.settings.max_body_bytes)
    hot = SubmitFastPath(app, service=node.service, max_body_bytes=node.settings.max_body_bytes)
    return HttpApp(app, web.install(app, node.settings, node.metrics, hot), hub.close_streams)
