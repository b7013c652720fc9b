"""Errors -> RFC 9457 application/problem+json. The only module that maps errors to HTTP."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from conveyor.errors import (
    BackendUnavailable,
    ConveyorError,
    IngestBusy,
    IngestWriteFailed,
    InvalidRecord,
    InvalidTask,
    TaskFinished,
    TaskNotFound,
    TaskRunning,
)

PROBLEM_JSON = "application/problem+json"


class MalformedBody(ConveyorError):
    """The request body is not valid JSON."""


class BodyTooLarge(ConveyorError):
    """The request body is larger than the server accepts."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the request body is larger than {limit} bytes")


# error class -> (HTTP status, problem type slug, title)
_TABLE: list[tuple[type[ConveyorError], int, str, str]] = [
    (MalformedBody, 400, "malformed-json", "Malformed JSON"),
    (BodyTooLarge, 413, "body-too-large", "Request body too large"),
    (InvalidTask, 422, "invalid-task", "Invalid task"),
    (InvalidRecord, 422, "invalid-record", "Invalid record"),
    (TaskNotFound, 404, "task-not-found", "Task not found"),
    (TaskFinished, 409, "task-finished", "Task already finished"),
    (TaskRunning, 409, "task-running", "Task is running"),
    (BackendUnavailable, 503, "backend-unavailable", "Backend unavailable"),
    (IngestBusy, 503, "ingest-busy", "Ingestion queue full"),
    (IngestWriteFailed, 503, "ingest-write-failed", "Ingestion write failed"),
]


def problem(
    status: int, slug: str, title: str, detail: str, instance: str | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({key: value for key, value in extra.items() if value is not None})
    headers = {"Retry-After": "1"} if status == 503 else None
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def error_response(error: ConveyorError, instance: str | None = None) -> Response:
    for cls, status, slug, title in _TABLE:
        if isinstance(error, cls):
            field = getattr(error, "field", None)
            return problem(status, slug, title, error.message, instance, field=field)
    return problem(500, "internal-error", "Internal error", error.message, instance)


def internal_error(instance: str | None = None) -> Response:
    """The answer to an error nobody anticipated; the details go to the server's log."""
    return problem(
        500, "internal-error", "Internal error", "the server failed; see its log", instance
    )


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body",)]
    if parts and parts[0] in ("query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts)


def install(app: FastAPI) -> None:
    async def on_conveyor_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConveyorError)
        return error_response(exc, request.url.path)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [{"field": _location(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        return problem(
            422,
            "invalid-request",
            "Invalid request",
            f"{first['field']}: {first['message']}",
            request.url.path,
            field=first["field"],
            errors=errors,
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = str(exc.detail)
        response = problem(exc.status_code, slug, detail, detail, request.url.path)
        response.headers.update(exc.headers or {})  # e.g. a 405's Allow
        return response

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return internal_error(request.url.path)

    app.add_exception_handler(ConveyorError, on_conveyor_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
