"""Fixtures: real server processes (see tests/servers.py)."""

from tests.servers import module_servers, start_server, workdir

__all__ = ["module_servers", "start_server", "workdir"]
