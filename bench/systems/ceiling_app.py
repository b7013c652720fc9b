"""The HTTP ceiling: POST /tasks as a minimal raw ASGI app that reads the body and answers
201 without parsing or storing anything. Served by the same uvicorn (httptools, uvloop)
as `conveyor serve`, it is the most any submit route on this stack could do.

    bench/.venv/bin/uvicorn bench.systems.ceiling_app:app --port 8771 --no-access-log
"""

from __future__ import annotations

from typing import Any

RESPONSE_BODY = b'{"id": "00000000000000000000000000", "status": "pending"}'
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(RESPONSE_BODY)).encode()),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":  # lifespan: nothing to start or stop
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:  # the whole body, as a real route must read it
        message = await receive()
        more = message.get("more_body", False)
    # 201 for the submit route; 200 elsewhere (the harness's readiness check on /health)
    status = 201 if scope["path"] == "/tasks" and scope["method"] == "POST" else 200
    await send({"type": "http.response.start", "status": status, "headers": HEADERS})
    await send({"type": "http.response.body", "body": RESPONSE_BODY})
