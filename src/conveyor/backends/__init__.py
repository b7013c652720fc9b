"""Backends by URL scheme; each module is imported only when its scheme is used."""

from __future__ import annotations

from conveyor.backends.base import Backend
from conveyor.errors import InvalidTask

SCHEMES = ("sqlite", "redis", "rediss", "valkey", "valkeys")


def open_backend(url: str) -> Backend:
    """Build (not yet open) the backend a URL names, e.g. `sqlite:///conveyor.db`."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from conveyor.backends.sqlite import SQLiteBackend

        return SQLiteBackend(url)
    if scheme in ("redis", "rediss", "valkey", "valkeys"):
        from conveyor.backends.redis import RedisBackend

        return RedisBackend(url)
    raise InvalidTask(
        f"unsupported backend {url!r}; supported schemes: {', '.join(SCHEMES)}", field="backend"
    )


__all__ = ["Backend", "open_backend"]
