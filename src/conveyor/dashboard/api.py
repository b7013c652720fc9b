"""The dashboard's data routes: the event stream and the stored history."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from conveyor.api.responses import json_response
from conveyor.api.system import worker_list
from conveyor.dashboard.history import Sampler
from conveyor.dashboard.stream import SnapshotHub
from conveyor.node import Node
from conveyor.task import JSONObject, format_time, utcnow


def snapshot_builder(node: Node, sampler: Sampler) -> SnapshotHub:
    async def build(point: JSONObject) -> JSONObject:
        return {
            "time": format_time(utcnow()),
            "node": node.settings.node_id,
            "counts": sampler.counts,
            "point": point,
            "workers": await worker_list(node),
        }

    return SnapshotHub(build)


def router(sampler: Sampler, hub: SnapshotHub) -> APIRouter:
    api = APIRouter(tags=["dashboard"])

    @api.get("/dashboard/events", summary="Server-Sent Events: a snapshot about every second")
    async def events(request: Request) -> Response:
        return StreamingResponse(
            hub.events(request.is_disconnected),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @api.get("/dashboard/history", summary="Chart points, oldest first, one a second at most")
    async def history(
        seconds: Annotated[float, Query(gt=0, le=7200, description="how far back")] = 3600,
    ) -> Response:
        points = await asyncio.to_thread(sampler.store.read, seconds)
        return json_response({"points": points})

    return api
