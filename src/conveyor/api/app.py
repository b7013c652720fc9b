"""The ASGI app factory: one router per area over one Node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from conveyor import web
from conveyor.api import ingest, problems, system, tasks
from conveyor.api.compat import flask_threads, math_wizard, task_api, task_route
from conveyor.api.fastpath import SubmitFastPath
from conveyor.api.limits import BodySizeLimit
from conveyor.dashboard import api as dashboard_api
from conveyor.dashboard import routes as dashboard_routes
from conveyor.dashboard.history import HistoryStore, Sampler
from conveyor.ingest.streams import IngestCollector, Ingestion
from conveyor.node import Node


def create_app(node: Node) -> FastAPI:
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
    # Added late, so it runs early: the hot submit route skips the framework's routing.
    app.add_middleware(
        SubmitFastPath, service=node.service, max_body_bytes=node.settings.max_body_bytes
    )
    # Last, so outermost: request metrics, backpressure and sessions see every request.
    web.install(app, node.settings, node.metrics)
    app.state.close_streams = hub.close_streams  # called by `serve` when a stop begins
    return app
