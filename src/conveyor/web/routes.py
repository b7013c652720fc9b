"""The cache switch (`/cache`, `/cache/toggle`, seed 002's `/toggle_cache`), and what
/static/ answers when no folder is served."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from conveyor.api.problems import problem
from conveyor.api.responses import json_response
from conveyor.web.cache import FileCache


def router(cache: FileCache, *, static_configured: bool) -> APIRouter:
    api = APIRouter(tags=["static files"])

    @api.get("/cache", summary="The static file cache: on or off, entries, bytes, hits, misses")
    async def cache_state() -> Response:
        return json_response(cache.state())

    @api.post(
        "/cache/toggle",
        summary="Switch the static file cache (this process's); answers the new state",
        description="Without `enabled` it flips; `?enabled=true|false` sets it. Switching it"
        " off empties it.",
    )
    async def toggle(enabled: bool | None = None) -> Response:
        cache.set_enabled(not cache.enabled if enabled is None else enabled)
        return json_response(cache.state())

    @api.api_route(
        "/toggle_cache",
        methods=["GET", "POST"],
        summary="Seed 002's cache switch: flips it, answers the new state",
    )
    async def toggle_cache() -> Response:
        cache.set_enabled(not cache.enabled)
        return json_response({"cache_enabled": cache.enabled, **cache.state()})

    if not static_configured:

        @api.api_route("/static/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
        async def no_static_folder(request: Request) -> Response:
            return problem(
                404,
                "not-found",
                "Not Found",
                "no static folder is served here (start the server with --static-dir)",
                request.url.path,
            )

    return api
