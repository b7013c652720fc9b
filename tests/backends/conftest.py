"""The conformance suite's fixtures: one `backend` per kind, opened fresh for each test.

Adding a backend is one entry in BACKENDS. Kinds that need a service skip with the reason
when it is unreachable, unless CONVEYOR_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import uuid_utils

from conveyor.backends import Backend, open_backend
from conveyor.task import Task
from tests.redis_support import REDIS_URL, forget, service_missing
from tests.support import new_task

# kind -> (URL factory taking tmp_path, service needed or None)
BACKENDS: dict[str, tuple[Callable[[Path], str], str | None]] = {
    "sqlite": (lambda tmp: f"sqlite:///{tmp / 'conformance.db'}", None),
    # Without fsyncs a submit may commit on the caller's event loop (run_inline): its own path.
    "sqlite-normal": (lambda tmp: f"sqlite:///{tmp / 'conformance.db'}?synchronous=NORMAL", None),
    "redis": (lambda tmp: f"{REDIS_URL}?prefix=conformance-{uuid_utils.uuid7().hex}", "redis"),
}


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    url_for, _service = BACKENDS[request.param]
    opened = open_backend(url_for(tmp_path))
    try:
        await opened.open()
    except Exception as exc:  # a service that is down: skip or fail, as configured
        service_missing(f"{request.param} backend", str(exc))
    yield opened
    await forget(opened)
    await opened.close()


MakeTask = Callable[..., Task]


@pytest.fixture
def make_task() -> MakeTask:
    """New pending tasks with time-ordered ids; keyword arguments override fields."""
    return new_task
