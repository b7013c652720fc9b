"""The embedded SQLite backend (a package: backend, rows, writer thread, wake-ups, schema)."""

from conveyor.backends.sqlite.backend import SQLiteBackend, parse_sqlite_url

__all__ = ["SQLiteBackend", "parse_sqlite_url"]
