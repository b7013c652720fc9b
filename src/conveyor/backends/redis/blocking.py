"""Submits from sync code, on the caller's own thread: a plain redis-py client runs the
same submit script as the event-loop client, sparing a sync producer three thread
hand-offs per call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis import Redis

from conveyor.backends.redis.codec import fields_task
from conveyor.backends.redis.scripts import script_source
from conveyor.task import Task


class BlockingClient:
    """The sync half of the backend; redis-py's connection pool makes it thread-safe."""

    def __init__(self, client_url: str, options: dict[str, Any]) -> None:
        self._client = Redis.from_url(client_url, **options)
        self._submit = self._client.register_script(script_source("submit"))

    def submit(self, args: Sequence[str | int | bytes]) -> list[str]:
        """Run the submit script; the stored id for each task, in order."""
        stored: list[str] = self._submit(args=list(args))
        return stored

    def get(self, keys: Sequence[str]) -> list[Task | None]:
        with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            found = pipe.execute()
        return [fields_task(fields) if fields else None for fields in found]

    def close(self) -> None:
        self._client.close()
