"""Static files under /static/: Starlette's StaticFiles (content types, ETag and
Last-Modified with 304s, Range requests, streaming in 64 KiB chunks, no way out of the
folder), with problem+json errors and the in-memory cache in front of small files."""

from __future__ import annotations

import os
from pathlib import Path

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from conveyor.api.problems import problem
from conveyor.web.cache import FileCache, FileVersion


class StaticFolder(StaticFiles):
    """One folder. Symlinks are followed only where they resolve inside it (Starlette's
    `follow_symlink=False` compares real paths), so one pointing out answers 404, as do
    `..` in any encoding (the path is decoded, then normalized, then resolved)."""

    def __init__(self, directory: Path, cache: FileCache) -> None:
        super().__init__(directory=directory, follow_symlink=False)
        self.cache = cache

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        # Dot files (.env, .git/) are never served: a folder is often more than its assets.
        if any(part.startswith(".") for part in Path(path).parts):
            return "", None
        return super().lookup_path(path)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if not isinstance(response, FileResponse) or response.stat_result is None:
            return response  # 304 Not Modified
        response.raw_headers.append((b"x-content-type-options", b"nosniff"))
        headers = Headers(scope=scope)
        requested_range = headers.get("range")
        if requested_range is not None:
            return _checked_range(response, requested_range, headers.get("if-range"), scope)
        if scope["method"] != "GET" or not self.cache.enabled:
            return response
        version = FileVersion.of(response.stat_result)
        full_path = str(response.path)
        body = self.cache.get(full_path, version)
        if body is not None:
            return _from_memory(body, response, b"HIT")
        if self.cache.cacheable(version.size):
            body = await anyio.to_thread.run_sync(_read_version, full_path, version)
        if body is None:  # too large, or it changed while read: stream it from disk
            response.raw_headers.append((b"x-cache", b"MISS"))
            return response
        self.cache.put(full_path, version, body)
        return _from_memory(body, response, b"MISS")


def _from_memory(body: bytes, file_response: FileResponse, state: bytes) -> Response:
    """The bytes with the file response's own headers (type, length, ETag, dates)."""
    response = Response(body)
    response.raw_headers = [*file_response.raw_headers, (b"x-cache", state)]
    return response


def _read_version(path: str, version: FileVersion) -> bytes | None:
    """The file's contents if it is still `version` before and after the read, else None."""
    try:
        with open(path, "rb") as file:
            if FileVersion.of(os.fstat(file.fileno())) != version:
                return None
            body = file.read(version.size + 1)
            if len(body) != version.size or FileVersion.of(os.fstat(file.fileno())) != version:
                return None
            return body
    except OSError:
        return None


def _checked_range(
    response: FileResponse, requested: str, if_range: str | None, scope: Scope
) -> Response:
    """Range requests are served from disk by FileResponse; a range it would refuse is
    refused here first, as problem+json (FileResponse answers those in plain text)."""
    assert response.stat_result is not None
    applies = if_range is None or if_range in (
        response.headers["etag"],
        response.headers["last-modified"],
    )
    if not applies:
        return response
    size = response.stat_result.st_size
    try:
        FileResponse._parse_range_header(requested, size)
    except MalformedRangeHeader as exc:
        return problem(400, "malformed-range", "Malformed Range header", exc.content, scope["path"])
    except RangeNotSatisfiable:
        refused = problem(
            416,
            "range-not-satisfiable",
            "Range not satisfiable",
            f"the file has {size} bytes",
            scope["path"],
        )
        refused.headers["content-range"] = f"bytes */{size}"
        return refused
    return response
