"""The Redis/Valkey backend."""

from conveyor.backends.redis.backend import RedisBackend
from conveyor.backends.redis.connection import parse_redis_url

__all__ = ["RedisBackend", "parse_redis_url"]
