"""The Lua scripts that make every multi-key change atomic, each run with the prelude."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

_NAMES = ("submit", "claim", "extend", "finish", "transition", "recover", "purge", "due")


@functools.cache
def _source(name: str) -> str:
    return resources.files("conveyor.backends.redis").joinpath("lua", f"{name}.lua").read_text()


def script_source(name: str) -> str:
    """A script as it runs: the shared prelude, then the script itself as a function,
    whose answer is returned once the set and counter changes it gathered are written
    (the prelude's flush): no script can leave them unwritten."""
    body = ("local function run()", _source(name), "end", "local answer = run()", "flush()")
    return "\n".join((_source("prelude"), *body, "return answer"))


@dataclass(frozen=True, slots=True)
class Scripts:
    submit: AsyncScript
    claim: AsyncScript
    extend: AsyncScript
    finish: AsyncScript
    transition: AsyncScript
    recover: AsyncScript
    purge: AsyncScript
    due: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> Scripts:
        """Scripts run by EVALSHA, loaded on first use (and again after a Redis restart)."""
        return cls(**{name: client.register_script(script_source(name)) for name in _NAMES})
