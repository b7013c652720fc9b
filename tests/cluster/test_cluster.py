"""A real cluster on loopback: nginx (with deploy/nginx/conveyor.conf) in front of two API
nodes, two worker nodes of two processes each, all on the machine's Redis. One worker node
is killed with -9 mid-run; nothing accepted is lost."""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.redis_support import delete_prefix, require_redis, service_missing, unique_redis_url
from tests.servers import ROOT, ServerFactory, free_port, wait_until

TASKS = 2_000
BATCH = 100


class Nginx:
    """nginx running the deploy config with this test's ports, stopped by its PID."""

    def __init__(self, folder: Path, port: int, upstreams: list[str]) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            service_missing("nginx", "not installed (.ci/run installs Debian's nginx-light)")
        site = (ROOT / "deploy" / "nginx" / "conveyor.conf").read_text()
        example = "    server 127.0.0.1:8001 max_fails=3 fail_timeout=5s;\n"
        assert example in site
        assert "listen 8080;" in site
        servers = "".join(example.replace("127.0.0.1:8001", u) for u in upstreams)
        site = site.replace(example, servers).replace(
            "    server 127.0.0.1:8002 max_fails=3 fail_timeout=5s;\n", ""
        )
        site = site.replace("listen 8080;", f"listen 127.0.0.1:{port};")
        (folder / "conveyor.conf").write_text(site)
        temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for path in temp.values():
            path.mkdir(exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"{user}worker_processes 1;\ndaemon off;\npid {folder}/nginx.pid;\n"
            f"error_log {folder}/error.log warn;\nevents {{ worker_connections 512; }}\n"
            f"http {{\n  access_log off;\n  client_body_temp_path {temp['body']};\n"
            f"  proxy_temp_path {temp['proxy']};\n  fastcgi_temp_path {temp['fastcgi']};\n"
            f"  uwsgi_temp_path {temp['uwsgi']};\n  scgi_temp_path {temp['scgi']};\n"
            f"  include {folder}/conveyor.conf;\n}}\n"
        )
        self.url = f"http://127.0.0.1:{port}"
        with (folder / "stderr.log").open("wb") as stderr:
            self.process = subprocess.Popen(
                [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", "stderr"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful, by PID
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def redis_url() -> Iterator[str]:
    require_redis()
    url = unique_redis_url()
    yield url
    delete_prefix(url)


def test_a_cluster_behind_nginx_loses_nothing_when_a_worker_node_dies(
    tmp_path: Path, redis_url: str
) -> None:
    nodes = ServerFactory(tmp_path, node_prefix="cluster", backend=redis_url)
    nginx: Nginx | None = None
    try:
        apis = [nodes("--no-workers", "--app", "userapp:app", node_id=f"api-{n}") for n in (1, 2)]
        fast_leases = {"CONVEYOR_LEASE_SECONDS": "3"}  # a dead node's tasks return quickly
        workers = [
            nodes.worker(
                redis_url, "--processes", "2", "--app", "userapp:app",
                node_id=f"worker-{n}", env=fast_leases,
            )
            for n in (1, 2)
        ]  # fmt: skip
        nginx = Nginx(tmp_path, free_port(), [api.base_url.removeprefix("http://") for api in apis])
        with httpx.Client(base_url=nginx.url, timeout=30) as gateway:
            wait_until(lambda: _answers(gateway), 10, "nginx answering")
            # Every worker process up before the load: 400 tasks take well under a second,
            # so a node whose processes start late would have run none before its kill.
            wait_until(lambda: len(_worker_processes(gateway)) == 4, 30, "4 worker processes")
            accepted: list[str] = []
            for n in range(TASKS // BATCH):
                body = {
                    "tasks": [
                        {"type": "record", "payload": {"label": f"{n}-{i}", "seconds": 0.005}}
                        for i in range(BATCH)
                    ]
                }
                response = gateway.post("/tasks", json=body)
                assert response.status_code == 201, response.text
                accepted += [task["id"] for task in response.json()["tasks"]]
            assert len(set(accepted)) == TASKS

            log = tmp_path / "executions.log"
            wait_until(lambda: log.exists() and _lines(log) > 400, 60, "tasks running")
            workers[0].stop(signal.SIGKILL)  # the whole node: supervisor and children

            def all_completed() -> bool:
                stats = gateway.get("/tasks").json()["stats"]
                return bool(stats["completed"] == TASKS)

            wait_until(all_completed, 90, f"all {TASKS} tasks completed", every=0.5)

            checked_by: set[str] = set()
            handled_by: set[str] = set()
            initiated_by: set[str] = set()
            for task_id in accepted[::50]:
                task = gateway.get(f"/tasks/{task_id}").json()
                assert task["status"] == "completed"
                checked_by.add(task["checked_by"])
                handled_by.add(task["handled_by"])
                initiated_by.add(task["initiated_by"])
        assert checked_by == {"api-1", "api-2"}
        assert initiated_by == {"api-1", "api-2"}
        assert len(handled_by) >= 3, handled_by  # worker-1's and worker-2's processes
        assert {h.rsplit("-w", 1)[0] for h in handled_by} == {"worker-1", "worker-2"}
        ran = collections.Counter(
            line.split()[1] for line in log.read_text().splitlines() if line.startswith("start")
        )
        assert set(ran) == set(accepted)  # every accepted task ran, nothing unknown did
        twice = [task_id for task_id, count in ran.items() if count > 1]
        assert len(twice) <= 2 * 5 * 2, twice  # at most what worker-1 held when it died
        assert workers[1].process.poll() is None
    finally:
        if nginx is not None:
            nginx.stop()
        nodes.close()


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/health").status_code == 200
    except httpx.TransportError:
        time.sleep(0.05)
        return False


def _worker_processes(client: httpx.Client) -> set[str]:
    workers = client.get("/workers").json()["workers"]
    return {w["id"] for w in workers if w["id"].startswith("worker-") and "-w" in w["id"]}


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())
