"""Reaching the Redis/Valkey server: its URL, the client's settings, and which errors
mean "unavailable for now" (BackendUnavailable) rather than a bug."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.exceptions import BusyLoadingError, ReadOnlyError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from conveyor.errors import BackendUnavailable, InvalidTask

_SCHEMES = {"redis": "redis", "rediss": "rediss", "valkey": "redis", "valkeys": "rediss"}
# Replies that mean "not now" rather than "wrong": out of memory, cannot persist.
_UNAVAILABLE_REPLIES = ("OOM", "MISCONF", "NOREPLICAS", "MASTERDOWN")
CLIENT_OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    "health_check_interval": 15,
}


def parse_redis_url(url: str) -> tuple[str, str]:
    """`redis://host:port/db?prefix=name` (or valkey://) -> (redis-py URL, key prefix)."""
    parts = urlsplit(url)
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise InvalidTask(f"not a Redis URL: {url!r} (use redis://host:port/db)", field="backend")
    options = dict(parse_qsl(parts.query))
    prefix = options.pop("prefix", "conveyor")
    if not prefix or any(c in prefix for c in " {}|"):
        raise InvalidTask(f"prefix must be a plain name, not {prefix!r}", field="backend")
    query = urlencode(options)
    return urlunsplit((scheme, parts.netloc, parts.path, query, "")), prefix + ":"


@contextlib.contextmanager
def unavailable_on_error(url: str) -> Iterator[None]:
    """Redis down, loading, read-only or out of memory: the caller gets BackendUnavailable."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, BusyLoadingError, ReadOnlyError) as exc:
        raise BackendUnavailable(url, str(exc)) from exc
    except ResponseError as exc:
        if str(exc).startswith(_UNAVAILABLE_REPLIES):
            raise BackendUnavailable(url, str(exc)) from exc
        if str(exc).startswith("DUPLICATE_ID"):
            raise InvalidTask(f"a task id is already stored: {exc}", field="id") from exc
        raise
    except OSError as exc:
        raise BackendUnavailable(url, str(exc)) from exc
