"""The CLI against the backend, with and without a running server; settings precedence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.servers import StartServer, run_cli, wait_until


def test_a_task_submitted_with_no_server_runs_when_one_starts(
    start_server: StartServer, workdir: Path
) -> None:
    db = f"sqlite:///{workdir / 'c.db'}"
    submitted = run_cli(
        "submit",
        "add",
        "--payload",
        '{"a": 1, "b": 2}',
        "--priority",
        "8",
        "--backend",
        db,
        cwd=workdir,
    )
    assert submitted.returncode == 0, submitted.stderr
    task = json.loads(submitted.stdout)
    assert (task["status"], task["priority"]) == ("pending", 8)
    start_server()
    done = run_cli("get", task["id"], "--wait", "15", "--backend", db, cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == 3
    listed = run_cli("tasks", "--json", "--backend", db, cwd=workdir)
    assert json.loads(listed.stdout)["stats"]["completed"] == 1
    table = run_cli("tasks", "--backend", db, cwd=workdir)
    assert task["id"] in table.stdout


def test_cancel_and_errors(workdir: Path) -> None:
    db = f"sqlite:///{workdir / 'cli.db'}"
    task = json.loads(run_cli("submit", "echo", "--backend", db, cwd=workdir).stdout)
    canceled = run_cli("cancel", task["id"], "--backend", db, cwd=workdir)
    assert json.loads(canceled.stdout)["status"] == "canceled"
    again = run_cli("cancel", task["id"], "--backend", db, cwd=workdir)
    assert again.returncode == 1
    assert "already canceled" in again.stderr
    bad = run_cli("submit", "nope", "--backend", db, cwd=workdir)
    assert bad.returncode == 1
    assert "unknown task type" in bad.stderr
    not_json = run_cli("submit", "echo", "--payload", "{", "--backend", db, cwd=workdir)
    assert not_json.returncode == 2


def test_config_precedence_file_env_flag(start_server: StartServer, workdir: Path) -> None:
    config = workdir / "conveyor.toml"
    config.write_text("threads = 7\nlease_seconds = 12\n")
    from_file = json.loads(run_cli("config", "--config", str(config), cwd=workdir).stdout)
    assert (from_file["threads"], from_file["lease_seconds"]) == (7, 12)
    from_env = json.loads(
        run_cli(
            "config", "--config", str(config), cwd=workdir, env={"CONVEYOR_THREADS": "9"}
        ).stdout
    )
    assert from_env["threads"] == 9
    server = start_server("--config", str(config), "--threads", "3", env={"CONVEYOR_THREADS": "9"})

    def children() -> list[dict[str, Any]]:
        workers = server.client.get("/workers").json()["workers"]
        return [w for w in workers if w["info"].get("role") != "supervisor"]

    wait_until(lambda: len(children()) >= 1, what="worker processes registered")
    # worker processes got the flag's value through their parent
    assert all(w["info"]["threads"] == 3 for w in children())
    missing = run_cli("config", "--config", str(workdir / "missing.toml"), cwd=workdir)
    assert missing.returncode == 2
