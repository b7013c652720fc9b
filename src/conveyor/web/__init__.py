"""HTTP server features: static files and their cache, request metrics, cookie sessions
and backpressure, installed on the app in one call."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

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


def install(app: FastAPI, settings: Settings, metrics: Metrics, inner: ASGIApp) -> ASGIApp:
    """Add the routes to `app`, and return `inner` wrapped in the layers that must see
    every request: request metrics outermost, to count what every other layer answers,
    then backpressure, then sessions."""
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
    layered: ASGIApp = SessionCookies(inner, visitors=visitors)
    metrics.http_limit.set(settings.max_concurrent_requests)
    if settings.max_concurrent_requests:
        layered = ConcurrencyLimit(layered, limit=settings.max_concurrent_requests, metrics=metrics)
    return RequestMetrics(layered, metrics=metrics, devices=DeviceClassifier(), router=app.router)
