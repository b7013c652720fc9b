"""Ingestion routes: `POST /ingest/{stream}` and seed 004's `/data`..`/data4`, listings,
history (JSON and HTML), and `/healthz`."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, Response

from conveyor.api.responses import json_response, read_json
from conveyor.ingest.streams import SEED_STREAMS, Ingestion
from conveyor.task import JSONObject

Limit = Annotated[int, Query(ge=1, le=1000, description="entries, newest first")]


def router(ingestion: Ingestion) -> APIRouter:
    api = APIRouter(tags=["ingest"])

    async def ingest(stream: str, request: Request) -> Response:
        body = await read_json(request)
        client = request.client.host if request.client else None
        count = await ingestion.ingest(stream, body, client)
        return json_response({"status": "stored", "stream": stream, "records": count}, 201)

    @api.post(
        "/ingest/{stream}",
        status_code=201,
        summary="Append a record (JSON object of scalars) or {records: [...]}; 201 once on disk",
    )
    async def ingest_stream(stream: str, request: Request) -> Response:
        return await ingest(stream, request)

    for name in SEED_STREAMS:
        api.add_api_route(
            f"/{name}",
            _seed_route(ingest, name),
            methods=["POST"],
            status_code=201,
            summary=f"Seed 004: the same as POST /ingest/{name}",
        )

    @api.get("/ingest", summary="Every stream with its counters")
    async def streams() -> Response:
        return json_response({"streams": ingestion.listing(), **ingestion.seed_metrics()})

    @api.get("/ingest/{stream}/history", summary="Recent records (JSON; HTML with ?format=html)")
    async def stream_history(
        stream: str, request: Request, limit: Limit = 1000, format: str | None = None
    ) -> Response:
        entries = ingestion.recent(stream, limit)
        if format == "html" or _prefers_html(request):
            return _history_page(f"Stream {stream}", entries)
        return json_response({"stream": stream, "entries": entries})

    @api.get("/history", summary="Seed 004: recent records of every stream, as HTML")
    async def history_html(limit: Limit = 1000) -> Response:
        return _history_page("Recent records", ingestion.recent(None, limit))

    @api.get("/history/json", summary="Seed 004: recent records of every stream")
    async def history_json(limit: Limit = 1000) -> Response:
        return json_response({"entries": ingestion.recent(None, limit)})

    @api.get("/healthz", summary="Seed 004: 200 while the process answers")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    return api


def _seed_route(
    ingest: Callable[[str, Request], Awaitable[Response]], stream: str
) -> Callable[[Request], Awaitable[Response]]:
    async def route(request: Request) -> Response:
        return await ingest(stream, request)

    route.__name__ = f"ingest_{stream}"
    return route


def _prefers_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def _history_page(title: str, entries: list[JSONObject]) -> Response:
    rows = "\n".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>".format(
            html.escape(str(entry["received_at"])),
            html.escape(str(entry["stream"])),
            html.escape(str(entry["client"] or "")),
            html.escape(", ".join(f"{k}={v}" for k, v in entry["record"].items())),
        )
        for entry in entries
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>{html.escape(title)}</h1><p>{len(entries)} newest first</p>
<table><thead><tr><th>received</th><th>stream</th><th>client</th><th>record</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>"""
    return HTMLResponse(page)
