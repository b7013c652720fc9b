"""A full disk: submits get 503 (never a 201 for a task not stored) and service recovers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ServerFactory


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs the test can fill and then grow (needs root, as CI has)."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_a_full_disk_gives_503_and_recovers(small_disk: Path, tmp_path: Path) -> None:
    servers = ServerFactory(tmp_path)
    try:
        server = servers("--processes", "0", "--queues", "nobody", db="disk/c.db")
        accepted: list[str] = []
        refused = 0
        for n in range(400):
            response = server.client.post(
                "/tasks", json={"type": "echo", "payload": {"n": n, "filler": "x" * 4000}}
            )
            if response.status_code == 201:
                accepted.append(response.json()["id"])
                continue
            assert response.status_code == 503, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"]
            refused += 1
            if refused >= 3:
                break
        assert accepted
        assert refused == 3  # the disk filled up before 400 tasks of 4 KB
        assert server.client.get("/health").status_code == 200  # still serving

        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        after = server.client.post("/tasks", json={"type": "echo", "payload": {"n": "after"}})
        assert after.status_code == 201
        for task_id in accepted:  # every 201 was really stored
            assert server.client.get(f"/tasks/{task_id}").status_code == 200
        stats = server.client.get("/tasks").json()["stats"]
        assert stats["pending"] == len(accepted) + 1
    finally:
        servers.close()
