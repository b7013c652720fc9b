"""The static file cache: off, on, bounded, switched at runtime under load, never stale."""

from __future__ import annotations

import concurrent.futures
import os
import threading
from pathlib import Path

import httpx

from tests.integration.web_support import cache_state, http_metrics
from tests.servers import ServerFactory, wait_until


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    static = root / "static"
    static.mkdir(exist_ok=True)
    for name, body in files.items():
        (static / name).write_bytes(body)
    return static


def test_cache_off_serves_from_disk_and_counts_nothing(
    server: ServerFactory, tmp_path: Path
) -> None:
    static = _folder(tmp_path, {"a.txt": b"alpha"})
    api = server("--no-workers", "--static-dir", str(static), env={"CONVEYOR_STATIC_CACHE": "0"})
    for _ in range(3):
        response = api.get("/static/a.txt")
        assert response.status_code == 200
        assert response.content == b"alpha"
        assert "x-cache" not in response.headers
    state = cache_state(api)
    assert state["enabled"] is False
    assert (state["entries"], state["bytes"], state["hits"], state["misses"]) == (0, 0, 0, 0)


def test_cache_on_hits_after_a_miss(server: ServerFactory, tmp_path: Path) -> None:
    static = _folder(tmp_path, {"a.txt": b"alpha", "b.txt": b"bravo!"})
    api = server("--no-workers", "--static-dir", str(static))
    assert cache_state(api)["enabled"] is True
    marks = [api.get(f"/static/{name}").headers["x-cache"] for name in ("a.txt", "a.txt", "b.txt")]
    assert marks == ["MISS", "HIT", "MISS"]
    again = api.get("/static/a.txt")
    assert again.content == b"alpha"
    assert again.headers["x-cache"] == "HIT"
    assert again.headers["content-type"] == "text/plain; charset=utf-8"
    assert again.headers["content-length"] == "5"
    state = cache_state(api)
    assert (state["entries"], state["bytes"], state["hits"], state["misses"]) == (2, 11, 2, 2)
    assert state["hit_ratio"] == 0.5
    assert state["scope"] == "process"
    shown = http_metrics(api)["cache"]
    assert shown == {
        "enabled": True,
        "entries": 2,
        "bytes": 11,
        "hits": 2,
        "misses": 2,
        "hit_ratio": 0.5,
    }
    text = api.get("/metrics", headers={"Accept": "text/plain"}).text
    assert "conveyor_static_cache_hits_total 2.0" in text
    assert "conveyor_static_cache_misses_total 2.0" in text
    assert "conveyor_static_cache_entries 2.0" in text


def test_toggle_routes_switch_and_answer_the_new_state(
    server: ServerFactory, tmp_path: Path
) -> None:
    static = _folder(tmp_path, {"a.txt": b"alpha"})
    api = server("--no-workers", "--static-dir", str(static))
    api.get("/static/a.txt")
    off = api.post("/cache/toggle").json()
    assert off["enabled"] is False
    assert (off["entries"], off["bytes"]) == (0, 0)  # switching off gives the memory back
    assert "x-cache" not in api.get("/static/a.txt").headers
    on = api.get("/toggle_cache").json()  # seed 002's route, GET
    assert on["enabled"] is True
    assert on["cache_enabled"] is True
    assert api.post("/toggle_cache").json()["cache_enabled"] is False  # and POST
    assert api.post("/cache/toggle", params={"enabled": "true"}).json()["enabled"] is True
    assert api.post("/cache/toggle", params={"enabled": "true"}).json()["enabled"] is True
    assert cache_state(api)["enabled"] is True


def test_a_changed_file_is_never_served_stale(server: ServerFactory, tmp_path: Path) -> None:
    static = _folder(tmp_path, {"page.html": b"version 1"})
    page = static / "page.html"
    api = server("--no-workers", "--static-dir", str(static))
    assert api.get("/static/page.html").content == b"version 1"
    assert api.get("/static/page.html").headers["x-cache"] == "HIT"

    page.write_bytes(b"version 2, longer")  # rewritten in place, new size
    response = api.get("/static/page.html")
    assert (response.content, response.headers["x-cache"]) == (b"version 2, longer", "MISS")

    stat = page.stat()
    page.write_bytes(b"version 3, LONGER")  # same size, saved a second later
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert api.get("/static/page.html").content == b"version 3, LONGER"

    stat = page.stat()
    replacement = static / "page.html.tmp"
    replacement.write_bytes(b"version 4, longer")  # same size, same mtime, new inode
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(replacement, page)
    assert api.get("/static/page.html").content == b"version 4, longer"
    assert api.get("/static/page.html").headers["x-cache"] == "HIT"

    page.unlink()
    assert api.get("/static/page.html").status_code == 404


def test_bounded_by_bytes_least_recently_used_out(server: ServerFactory, tmp_path: Path) -> None:
    files = {name: name.encode() * 1000 for name in ("a", "b", "c")}  # 1,000 bytes each
    files["big"] = b"x" * 3000
    static = _folder(tmp_path, files)
    api = server(
        "--no-workers",
        "--static-dir",
        str(static),
        "--static-cache-max-bytes",
        "2500",
        env={"CONVEYOR_STATIC_CACHE_MAX_FILE_BYTES": "2000"},
    )
    for name in ("a", "b", "a", "c"):  # c pushes out b, the least recently used
        assert api.get(f"/static/{name}").content == files[name]
    state = cache_state(api)
    assert (state["entries"], state["bytes"]) == (2, 2000)
    assert api.get("/static/a").headers["x-cache"] == "HIT"
    assert api.get("/static/b").headers["x-cache"] == "MISS"
    for _ in range(2):  # over the per-file cap: streamed from disk every time
        response = api.get("/static/big")
        assert (response.content, response.headers["x-cache"]) == (files["big"], "MISS")
    assert cache_state(api)["bytes"] <= 2500


def test_switching_under_concurrent_load_serves_consistent_bytes(
    server: ServerFactory, tmp_path: Path
) -> None:
    files = {
        "small.txt": b"s" * 100,
        "page.html": os.urandom(20_000),
        "large.bin": os.urandom(300_000),  # over the per-file cap
    }
    static = _folder(tmp_path, files)
    api = server(
        "--no-workers",
        "--static-dir",
        str(static),
        env={"CONVEYOR_STATIC_CACHE_MAX_FILE_BYTES": "100000"},
    )
    before = cache_state(api)
    stop = threading.Event()
    marks: dict[str, int] = {"HIT": 0, "MISS": 0, "none": 0}
    lock = threading.Lock()

    def load(slot: int) -> int:
        names = list(files)
        done = 0
        with httpx.Client(base_url=api.base_url, timeout=30) as client:
            while not stop.is_set() and done < 400:
                name = names[(slot + done) % len(names)]
                response = client.get(f"/static/{name}")
                assert response.status_code == 200, response.text
                assert response.content == files[name], name
                with lock:
                    marks[response.headers.get("x-cache", "none")] += 1
                done += 1
        return done

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        loaders = [pool.submit(load, slot) for slot in range(5)]
        # Toggle only once the load runs (on a busy machine the loaders start late).
        wait_until(lambda: sum(marks.values()) >= 10, 30, "load running")
        states = []
        for _ in range(40):
            states.append(api.post("/cache/toggle").json()["enabled"])
        stop.set()
        served = sum(loader.result() for loader in loaders)
    assert served > 0
    assert True in states
    assert False in states
    after = cache_state(api)
    # Every response the cache counted says so in its X-Cache header, and no other.
    assert after["hits"] - before["hits"] == marks["HIT"]
    assert after["misses"] - before["misses"] == marks["MISS"]
    assert marks["HIT"] + marks["MISS"] + marks["none"] == served
    if not after["enabled"]:
        assert (after["entries"], after["bytes"]) == (0, 0)
    assert after["bytes"] <= 20_100
