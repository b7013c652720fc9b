"""System routes: health, readiness, status, identity, workers, metrics."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import timedelta
from importlib.metadata import version

from fastapi import APIRouter, Request
from starlette.responses import Response

from conveyor.api.problems import problem
from conveyor.api.responses import json_response
from conveyor.config import redact
from conveyor.errors import BackendUnavailable
from conveyor.node import Node
from conveyor.task import JSONObject, format_time, utcnow


def wants_prometheus(accept: str) -> tuple[bool, bool]:
    """(Prometheus text?, OpenMetrics?) from an Accept header, by q-value; JSON wins
    ties and anything unspecified, since plain curl clients parse JSON."""
    best: dict[str, float] = {}
    for part in accept.lower().split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best[media] = max(best.get(media, 0.0), quality)
    openmetrics = best.get("application/openmetrics-text", 0.0)
    text = max(best.get("text/plain", 0.0), openmetrics)
    json = max(best.get("application/json", 0.0), best.get("*/*", 0.0))
    if text > 0 and text > json:
        return True, openmetrics > 0 and openmetrics >= best.get("text/plain", 0.0)
    return False, False


def router(node: Node, more_metrics: Callable[[], JSONObject] = dict) -> APIRouter:
    """`more_metrics()` adds keys to /metrics' JSON (seed 004's ingestion keys)."""
    api = APIRouter(tags=["system"])
    settings = node.settings

    @api.get("/health", summary="Liveness: the process answers")
    async def health() -> Response:
        return json_response({"status": "ok"})

    @api.get("/ready", summary="Readiness: the backend answers (503 when not)")
    async def ready() -> Response:
        try:
            await node.backend.ping()
        except BackendUnavailable as exc:
            return problem(503, "backend-unavailable", "Backend unavailable", exc.message, "/ready")
        if node.stalled:
            return problem(
                503,
                "workers-stalled",
                "Workers stalled",
                f"worker processes stopped heartbeating and are being restarted:"
                f" {', '.join(node.stalled)}",
                "/ready",
            )
        return json_response({"status": "ready", "backend": redact(settings.backend)})

    @api.get("/status", summary="Version, node, uptime, backend and task counts")
    async def status() -> Response:
        stats = await node.service.stats()
        return json_response(
            {
                "status": "ok",
                "version": version("conveyor"),
                "node": settings.node_id,
                "uptime_seconds": round(node.uptime_s, 3),
                "backend": redact(settings.backend),
                "workers_enabled": node.run_workers,
                "task_types": node.registry.names(),
                "tasks": stats.by_status,
            }
        )

    @api.get("/whoami", summary="The node answering this request")
    async def whoami() -> Response:
        return json_response(
            {
                "node": settings.node_id,
                "role": "api+worker" if node.run_workers else "api",
                "version": version("conveyor"),
                "backend": redact(settings.backend),
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
            }
        )

    @api.get("/workers", summary="Every worker process and its threads")
    async def workers() -> Response:
        return json_response({"workers": await worker_list(node)})

    @api.get("/metrics", summary="Prometheus text when Accept asks for it, else JSON")
    async def metrics(request: Request) -> Response:
        stats = await node.service.stats()
        node.metrics.set_task_counts(stats.by_status)
        prometheus, openmetrics = wants_prometheus(request.headers.get("accept", ""))
        if prometheus:
            body, content_type = node.metrics.prometheus(openmetrics)
            return Response(body, media_type=content_type)
        return json_response(
            {
                "node": settings.node_id,
                "tasks": stats.by_status,
                **node.metrics.snapshot(),
                **more_metrics(),
            }
        )

    return api


def settings_node_id(node: Node) -> str:
    return node.settings.node_id


async def worker_list(node: Node) -> list[JSONObject]:
    """Registered worker processes; this process's own threads come live from its roster."""
    stale_after = timedelta(seconds=3 * node.settings.heartbeat_seconds + 1)
    now = utcnow()
    listed: list[JSONObject] = []
    for record in await node.backend.workers():
        own = record.id == settings_node_id(node) and record.pid == os.getpid()
        listed.append(
            {
                "id": record.id,
                "node": record.node,
                "pid": record.pid,
                "started_at": format_time(record.started_at),
                "last_seen": format_time(now if own else record.last_seen),
                "alive": own or now - record.last_seen < stale_after,
                "info": node.record().info if own and node.supervisor else record.info,
                "threads": node.roster.snapshot() if own else record.threads,
            }
        )
    return listed
