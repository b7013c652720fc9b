"""Static files under /static/: types, validators and 304s, ranges, streaming, and no
way out of the folder."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.integration.web_support import raw_get
from tests.servers import Server, ServerFactory, assert_problem, run_cli

SECRET = b"the secret outside the static folder"
FILES = {
    "index.html": b"<!doctype html><title>hello</title>",
    "css/site.css": b"body { color: black }\n",
    "data.json": b'{"ok": true}',
    "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    "notes.txt": b"0123456789abcdefghij",
    "blob.unknownext": b"\x00\x01\x02",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tmp/static/ (served) next to tmp/secret.txt and tmp/private/ (not served)."""
    root = tmp_path_factory.mktemp("web-static")
    static = root / "static"
    for name, body in FILES.items():
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_bytes(body)
    (root / "secret.txt").write_bytes(SECRET)
    (root / "private").mkdir()
    (root / "private" / "secret.txt").write_bytes(SECRET)
    (static / ".env").write_bytes(SECRET)
    (static / "out.txt").symlink_to(root / "secret.txt")
    (static / "outdir").symlink_to(root / "private")
    (static / "alias.txt").symlink_to("notes.txt")  # inside: served
    return static


@pytest.fixture(scope="module")
def web(module_server: ServerFactory, folder: Path) -> Server:
    return module_server("--no-workers", "--static-dir", str(folder))


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("css/site.css", "text/css; charset=utf-8"),
        ("data.json", "application/json"),
        ("logo.png", "image/png"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("blob.unknownext", "application/octet-stream"),
    ],
)
def test_files_are_served_with_their_type(web: Server, name: str, content_type: str) -> None:
    response = web.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.content == FILES[name]
    assert response.headers["content-type"] == content_type
    assert response.headers["content-length"] == str(len(FILES[name]))
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"]
    assert response.headers["last-modified"]


def test_head_answers_headers_only(web: Server) -> None:
    response = web.client.head("/static/notes.txt")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(FILES["notes.txt"]))


def test_validators_give_304(web: Server) -> None:
    first = web.get("/static/index.html")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = web.get("/static/index.html", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    listed = web.get("/static/index.html", headers={"If-None-Match": f'"other", {etag}'})
    assert listed.status_code == 304
    since = web.get("/static/index.html", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    changed = web.get("/static/index.html", headers={"If-None-Match": '"not-this-one"'})
    assert changed.status_code == 200
    assert changed.content == FILES["index.html"]
    old = web.get(
        "/static/index.html", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )
    assert old.status_code == 200


def test_range_requests(web: Server) -> None:
    body = FILES["notes.txt"]
    first = web.get("/static/notes.txt", headers={"Range": "bytes=0-9"})
    assert first.status_code == 206
    assert first.content == body[:10]
    assert first.headers["content-range"] == f"bytes 0-9/{len(body)}"
    suffix = web.get("/static/notes.txt", headers={"Range": "bytes=-5"})
    assert suffix.status_code == 206
    assert suffix.content == body[-5:]
    open_ended = web.get("/static/notes.txt", headers={"Range": "bytes=15-"})
    assert open_ended.content == body[15:]
    etag = first.headers["etag"]
    if_range = web.get("/static/notes.txt", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert if_range.status_code == 206
    stale = web.get("/static/notes.txt", headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    assert stale.status_code == 200
    assert stale.content == body


def test_bad_ranges_are_problems(web: Server) -> None:
    size = len(FILES["notes.txt"])
    beyond = web.get("/static/notes.txt", headers={"Range": f"bytes={size + 10}-"})
    assert_problem(beyond, 416)
    assert beyond.headers["content-range"] == f"bytes */{size}"
    assert_problem(web.get("/static/notes.txt", headers={"Range": "lines=1-2"}), 400)


@pytest.mark.parametrize(
    "raw_path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/css/../../secret.txt",
        "/static/css/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/%252e%252e%252fsecret.txt",
        "/static/.%2e/private/secret.txt",
        "/static/out.txt",
        "/static/outdir/secret.txt",
        "/static/.env",
        "/static/%2eenv",
        "/static/notes.txt%00.png",
        "/static/",
        "/static/css",
        "/static/nothing-here.txt",
    ],
)
def test_no_way_out_of_the_folder(web: Server, raw_path: str) -> None:
    status, headers, body = raw_get(web, raw_path)
    assert status == 404, (raw_path, status, body)
    assert headers["content-type"] == "application/problem+json"
    assert SECRET not in body


def test_absolute_path_inside_the_url_is_refused(web: Server, folder: Path) -> None:
    status, _, body = raw_get(web, f"/static/{folder.parent / 'secret.txt'}")
    assert status == 404
    assert SECRET not in body
    status, _, body = raw_get(web, f"/static//{folder.parent / 'secret.txt'}")
    assert status == 404
    assert SECRET not in body


def test_symlink_inside_the_folder_is_followed(web: Server) -> None:
    response = web.get("/static/alias.txt")
    assert response.status_code == 200
    assert response.content == FILES["notes.txt"]


def test_other_methods_are_refused(web: Server) -> None:
    refused = web.post("/static/notes.txt")
    assert_problem(refused, 405)
    assert refused.headers["allow"] == "GET, HEAD"


def test_no_static_folder_answers_404_problem(server: ServerFactory) -> None:
    api = server("--no-workers")
    body = assert_problem(api.get("/static/index.html"), 404)
    assert "--static-dir" in body["detail"]


def test_a_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    done = run_cli("serve", "--static-dir", str(tmp_path / "absent"), cwd=tmp_path)
    assert done.returncode == 2
    assert "is not a folder" in done.stderr


def _peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_large_files_are_streamed_not_held(server: ServerFactory, tmp_path: Path) -> None:
    """A 64 MiB file goes out in chunks: the server's peak memory grows far less than
    the file, with the cache on, and the file is never cached."""
    static = tmp_path / "big"
    static.mkdir()
    size = 64 * 1024 * 1024
    block = os.urandom(1024 * 1024)
    with (static / "big.bin").open("wb") as out:
        for _ in range(size // len(block)):
            out.write(block)
    api = server("--no-workers", "--processes", "0", "--static-dir", str(static))
    assert api.get("/static/nothing").status_code == 404  # warm the request path first
    before = _peak_rss_bytes(api.pid)
    for _ in range(2):
        received = 0
        with httpx.stream("GET", f"{api.base_url}/static/big.bin", timeout=60) as response:
            assert response.status_code == 200
            assert response.headers["x-cache"] == "MISS"
            for chunk in response.iter_bytes():
                received += len(chunk)
        assert received == size
    grown = _peak_rss_bytes(api.pid) - before
    assert grown < size // 4, f"peak RSS grew by {grown} bytes for a {size}-byte file"
    state = api.get("/cache").json()
    assert state["entries"] == 0
    assert state["bytes"] == 0
