"""`GET /` and `GET /ui/{file}`: the dashboard's page and assets, from the package."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException
from starlette.responses import Response

_STATIC = resources.files("conveyor.dashboard").joinpath("static")
_MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def _asset(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    # Only plain names of known kinds: no path can leave the folder.
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in _MEDIA_TYPES:
        raise HTTPException(404, f"no such file: {name}")
    resource = _STATIC.joinpath(name)
    if not resource.is_file():
        raise HTTPException(404, f"no such file: {name}")
    return Response(
        resource.read_bytes(),
        media_type=f"{_MEDIA_TYPES[suffix]}; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def router() -> APIRouter:
    api = APIRouter(tags=["dashboard"])

    @api.get("/", include_in_schema=False)
    async def index() -> Response:
        return _asset("index.html")

    @api.get("/ui/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        return _asset(name)

    return api
