"""POST /tasks as raw ASGI, ahead of the framework.

Submitting is the hot route; the framework's routing, dependency solving and middleware
stack cost about as much as the submit itself (measured with py-spy). This path does the
same work with the same functions (parse, submit, respond, problem+json) and nothing
else; the framework route stays for the OpenAPI schema and documents it.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from conveyor.api.problems import BodyTooLarge, MalformedBody, error_response
from conveyor.api.tasks import parse_submit, submitted_response
from conveyor.errors import ConveyorError
from conveyor.service import TaskService
from conveyor.web.request_metrics import ROUTE_TEMPLATE


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
        idempotency_key = None
        declared = 0
        for name, value in scope["headers"]:
            if name == b"idempotency-key":
                idempotency_key = value.decode("latin-1")
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
        try:
            if declared > self.max_body_bytes:
                raise BodyTooLarge(self.max_body_bytes)
            body = await self._read_body(receive)
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise MalformedBody(f"the body is not valid JSON: {exc}") from None
            requests, batch = parse_submit(data, idempotency_key, self.service.registry)
            submitted = await self.service.submit(requests, batch=batch)
            response = submitted_response(submitted, batch, self.service.node_id)
        except ConveyorError as exc:
            response = error_response(exc, "/tasks")
        await response(scope, receive, send)

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
