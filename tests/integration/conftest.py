"""Fixtures: factories of real `conveyor serve` processes (see helpers.py).

`server(*args, env=..., db=..., node_id=...)` starts `conveyor serve` on a free loopback
port with `--backend sqlite:///<tmp_path>/<db>`, cwd=tmp_path (which holds `userapp.py` for
`--app userapp:app`) and CONVEYOR_NODE_ID set, waits until GET /health answers and returns
a `Server` (base_url, process, db_url, client). Calling it again with the same `db`
restarts on the same database. Teardown stops each server by PID.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ServerFactory


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Servers on this test's own folder and database."""
    factory = ServerFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """Servers shared by one module's tests (for tests that do not disturb each other)."""
    factory = ServerFactory(tmp_path_factory.mktemp("shared"), node_prefix="shared")
    try:
        yield factory
    finally:
        factory.close()
