"""Fixtures: real server processes (see tests/servers.py), one folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_support import delete_prefix, require_redis, unique_redis_url
from tests.servers import ServerFactory


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(params=["sqlite", "redis"])
def start_server(request: pytest.FixtureRequest, workdir: Path) -> Iterator[ServerFactory]:
    """Servers on a SQLite file in the test's folder, or on the machine's Redis under a
    key prefix of the test's own: every fault test runs on every backend."""
    backend = None
    if request.param == "redis":
        require_redis()
        backend = unique_redis_url()
    factory = ServerFactory(workdir, node_prefix="fault", backend=backend)
    try:
        yield factory
    finally:
        factory.close()
        if backend is not None:
            delete_prefix(backend)
