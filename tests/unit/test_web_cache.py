"""The static file cache as a data structure: versions, LRU order, the byte bound."""

from __future__ import annotations

from conveyor.metrics import Metrics
from conveyor.web.cache import FileCache, FileVersion

V1 = FileVersion(inode=1, size=3, mtime_ns=10, ctime_ns=10)


def test_hit_only_for_the_same_version() -> None:
    cache = FileCache(100, 100, enabled=True, metrics=Metrics())
    assert cache.get("/a", V1) is None
    cache.put("/a", V1, b"abc")
    assert cache.get("/a", V1) == b"abc"
    for changed in (
        FileVersion(2, 3, 10, 10),
        FileVersion(1, 4, 10, 10),
        FileVersion(1, 3, 11, 10),
        FileVersion(1, 3, 10, 11),
    ):
        cache.put("/a", V1, b"abc")
        assert cache.get("/a", changed) is None
        assert cache.bytes == 0  # the stale copy is dropped
    state = cache.state()
    assert (state["hits"], state["misses"]) == (1, 5)


def test_least_recently_used_goes_first_and_bytes_stay_bounded() -> None:
    cache = FileCache(10, 10, enabled=True, metrics=Metrics())
    for name in ("a", "b", "c"):
        cache.put(name, FileVersion(0, 3, 0, 0), name.encode() * 3)
    assert cache.get("a", FileVersion(0, 3, 0, 0)) == b"aaa"  # a is now the most recent
    cache.put("d", FileVersion(0, 3, 0, 0), b"ddd")
    assert cache.bytes == 9
    assert cache.get("b", FileVersion(0, 3, 0, 0)) is None
    assert cache.get("a", FileVersion(0, 3, 0, 0)) == b"aaa"


def test_files_over_the_cap_and_a_switched_off_cache_store_nothing() -> None:
    cache = FileCache(100, 4, enabled=True, metrics=Metrics())
    assert not cache.cacheable(5)
    cache.put("big", FileVersion(0, 5, 0, 0), b"12345")
    assert cache.bytes == 0
    cache.put("small", FileVersion(0, 4, 0, 0), b"1234")
    cache.set_enabled(False)
    assert (cache.bytes, cache.state()["entries"]) == (0, 0)
    cache.put("small", FileVersion(0, 4, 0, 0), b"1234")
    assert cache.bytes == 0


def test_the_per_file_cap_never_exceeds_the_whole() -> None:
    assert FileCache(10, 1000, enabled=True, metrics=Metrics()).max_file_bytes == 10
