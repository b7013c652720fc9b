"""POST /tasks as raw ASGI, ahead of the framework.

Submitting is the hot route. The framework's layers (its telemetry check, error and
body-limit middleware, routing, dependency solving, Response objects) cost about as much
as the submit itself: taking them off this path took `conveyor serve` from about 6,900 to
8,500 one-task requests/s under wrk at 64 connections (server CPU 143 -> 110 us a
request). This path does the same work with the same functions (parse, submit, answer,
problem+json) and nothing else; the framework's route stays for the OpenAPI schema.
"""

from __future__ import annotations

import logging

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from conveyor.api.problems import BodyTooLarge, MalformedBody, error_response, internal_error
from conveyor.api.tasks import parse_submit, submitted_answer
from conveyor.errors import ConveyorError
from conveyor.service import TaskService
from conveyor.web.request_metrics import ROUTE_TEMPLATE

log = logging.getLogger(__name__)
_JSON = (b"content-type", b"application/json")


class SubmitFastPath:
    def __init__(self, app: ASGIApp, service: TaskService, max_body_bytes: int) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/tasks" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope[ROUTE_TEMPLATE] = "/tasks"
        try:
            status, body = await self._submit(scope, receive)
        except ConveyorError as exc:
            await error_response(exc, "/tasks")(scope, receive, send)
            return
        except Exception:  # the framework's error middleware is not in front of this path
            log.exception("POST /tasks failed")
            await internal_error("/tasks")(scope, receive, send)
            return
        headers = [_JSON, (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _submit(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        idempotency_key = None
        declared = 0
        for name, value in scope["headers"]:
            if name == b"idempotency-key":
                idempotency_key = value.decode("latin-1")
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
        if declared > self.max_body_bytes:
            raise BodyTooLarge(self.max_body_bytes)
        body = await self._read_body(receive)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise MalformedBody(f"the body is not valid JSON: {exc}") from None
        requests, batch = parse_submit(data, idempotency_key, self.service.registry)
        submitted = await self.service.submit(requests, batch=batch)
        return submitted_answer(submitted, batch, self.service.node_id)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise MalformedBody("the client disconnected before sending the body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge(self.max_body_bytes)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
