"""Fixtures: real server processes (see tests/servers.py), one folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ServerFactory


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def start_server(workdir: Path) -> Iterator[ServerFactory]:
    factory = ServerFactory(workdir, node_prefix="fault")
    try:
        yield factory
    finally:
        factory.close()
