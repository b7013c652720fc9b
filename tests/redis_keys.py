"""The machine's Redis for tests: each test uses its own key prefix in its own database
number and deletes exactly its keys afterwards (never FLUSHALL/FLUSHDB)."""

from __future__ import annotations

import os

from conveyor.backends import Backend
from conveyor.backends.redis import RedisBackend

REDIS_URL = os.environ.get("CONVEYOR_TEST_REDIS", "redis://127.0.0.1:6379/14")


async def forget(backend: Backend) -> None:
    """Delete every key under a Redis backend's prefix; other backends keep their files."""
    if not isinstance(backend, RedisBackend):
        return
    keys = [key async for key in backend.client.scan_iter(match=f"{backend.prefix}*", count=500)]
    if keys:
        await backend.client.delete(*keys)
