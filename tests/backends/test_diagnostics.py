"""Diagnostics: what /valkey_test shows of the storage, the same keys on every backend."""

from __future__ import annotations

import re

from conveyor.backends import Backend
from conveyor.backends.sqlite import SQLiteBackend


async def test_diagnostics_name_the_kind_and_the_server_version(backend: Backend) -> None:
    facts = await backend.diagnostics()
    assert facts["kind"] in ("sqlite", "redis", "valkey")
    assert re.match(r"^\d+\.\d+", facts["server_version"]), facts
    if isinstance(backend, SQLiteBackend):
        assert facts["journal_mode"] == "wal"
        assert facts["file"].endswith("conformance.db")
    else:
        assert facts["key_prefix"].startswith("conformance-")
        assert isinstance(facts["aof_enabled"], bool)
