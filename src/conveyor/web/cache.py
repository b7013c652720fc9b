"""The static file cache: file contents in memory, least recently used first out, bounded
in bytes, switched on and off at runtime. One per process; used from the event loop only."""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass

from conveyor.metrics import Metrics
from conveyor.task import JSONObject


@dataclass(frozen=True, slots=True)
class FileVersion:
    """What a cached copy is checked against on every hit: a file replaced (new inode),
    rewritten (size, mtime) or touched by chmod/truncate (ctime) no longer matches."""

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileVersion:
        return cls(stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class FileCache:
    def __init__(
        self, max_bytes: int, max_file_bytes: int, *, enabled: bool, metrics: Metrics
    ) -> None:
        self.max_bytes = max_bytes
        self.max_file_bytes = min(max_file_bytes, max_bytes)
        self.enabled = enabled
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[FileVersion, bytes]] = OrderedDict()
        self._hits = metrics.cache_hits
        self._misses = metrics.cache_misses
        metrics.cache_enabled.set_function(lambda: 1.0 if self.enabled else 0.0)
        metrics.cache_entries.set_function(lambda: len(self._entries))
        metrics.cache_bytes.set_function(lambda: self.bytes)

    def cacheable(self, size: int) -> bool:
        return size <= self.max_file_bytes

    def get(self, path: str, version: FileVersion) -> bytes | None:
        """The cached contents if they are of this version of the file (a hit), else None
        (a miss: a stale copy is dropped). Counted only while the cache is on."""
        entry = self._entries.get(path)
        if entry is not None and entry[0] == version:
            self._entries.move_to_end(path)
            self._hits.inc()
            return entry[1]
        if entry is not None:
            self._drop(path)
        self._misses.inc()
        return None

    def put(self, path: str, version: FileVersion, body: bytes) -> None:
        if not self.enabled or not self.cacheable(len(body)):
            return
        if path in self._entries:
            self._drop(path)
        self._entries[path] = (version, body)
        self.bytes += len(body)
        while self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def set_enabled(self, enabled: bool) -> None:
        """Switch on or off; off also empties it, so its memory is given back."""
        self.enabled = enabled
        if not enabled:
            self._entries.clear()
            self.bytes = 0

    def state(self) -> JSONObject:
        hits, misses = int(self._hits._value.get()), int(self._misses._value.get())
        return {
            "enabled": self.enabled,
            "entries": len(self._entries),
            "bytes": self.bytes,
            "max_bytes": self.max_bytes,
            "max_file_bytes": self.max_file_bytes,
            "hits": hits,
            "misses": misses,
            "hit_ratio": round(hits / (hits + misses), 4) if hits + misses else None,
            "scope": "process",
        }

    def _drop(self, path: str) -> None:
        _, body = self._entries.pop(path)
        self.bytes -= len(body)
