"""HTTP server features: static files and their cache, request metrics, cookie sessions
and backpressure, installed on the app in one call."""

from __future__ import annotations

from fastapi import FastAPI

from conveyor.config import Settings
from conveyor.metrics import Metrics
from conveyor.web import routes
from conveyor.web.backpressure import ConcurrencyLimit
from conveyor.web.cache import FileCache
from conveyor.web.devices import DeviceClassifier
from conveyor.web.request_metrics import RequestMetrics
from conveyor.web.sessions import SessionCookies, VisitorEstimate
from conveyor.web.static import StaticFolder

__all__ = ["install"]


def install(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Add the routes and middleware. Call it after every other middleware is added: the
    request metrics must be outermost, to count what every other layer answers."""
    cache = FileCache(
        settings.static_cache_max_bytes,
        settings.static_cache_max_file_bytes,
        enabled=settings.static_cache,
        metrics=metrics,
    )
    app.include_router(routes.router(cache, static_configured=settings.static_dir is not None))
    if settings.static_dir is not None:
        app.mount("/static", StaticFolder(settings.static_dir, cache), name="static")
    visitors = VisitorEstimate()
    metrics.http_visitors.set_function(visitors.estimate)
    app.add_middleware(SessionCookies, visitors=visitors)
    metrics.http_limit.set(settings.max_concurrent_requests)
    if settings.max_concurrent_requests:
        app.add_middleware(
            ConcurrencyLimit, limit=settings.max_concurrent_requests, metrics=metrics
        )
    app.add_middleware(
        RequestMetrics, metrics=metrics, devices=DeviceClassifier(), router=app.router
    )
