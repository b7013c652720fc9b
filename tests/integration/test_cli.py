"""The `conveyor` CLI as subprocesses: with and without a running server; settings precedence.

Each CLI start costs about half a second of imports, so independent commands run side by
side (`run_cli_many`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.servers import (
    BUILTIN_TYPES,
    ServerFactory,
    cli_json,
    run_cli_many,
    wait_until,
)

UNKNOWN_ID = "01a2bc00-0000-7000-8000-000000000000"


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def test_a_task_submitted_with_no_server_runs_when_one_starts(
    server: ServerFactory, tmp_path: Path
) -> None:
    db = server.db_url()
    assert not (tmp_path / "c.db").exists()
    task = cli_json(
        "submit", "add", "--payload", '{"a":1,"b":2}', "--priority", "8", "--backend", db,
        cwd=tmp_path,
    )  # fmt: skip
    assert (task["type"], task["payload"], task["priority"], task["status"]) == (
        "add",
        {"a": 1, "b": 2},
        8,
        "pending",
    )
    assert (tmp_path / "c.db").exists()
    listed, got = run_cli_many(
        ("tasks", "--json", "--backend", db), ("get", task["id"], "--backend", db), cwd=tmp_path
    )
    assert as_json(listed)["stats"]["pending"] == 1
    assert [t["id"] for t in as_json(listed)["tasks"]] == [task["id"]]
    assert as_json(got)["status"] == "pending"

    s = server()
    assert s.db_url == db
    done, waited = run_cli_many(
        ("get", task["id"], "--wait", "15", "--backend", db),
        ("submit", "add", "--payload", '{"a": 20, "b": 22}', "--wait", "15", "--backend", db),
        cwd=tmp_path,
    )
    assert (as_json(done)["status"], as_json(done)["result"]) == ("completed", 3)
    assert as_json(done)["attempts"] == 1
    assert (as_json(waited)["status"], as_json(waited)["result"]) == ("completed", 42)
    assert s.task(task["id"])["status"] == "completed"

    completed, table = run_cli_many(
        ("tasks", "--json", "--status", "completed", "--backend", db),
        ("tasks", "--backend", db),
        cwd=tmp_path,
    )
    assert {t["id"] for t in as_json(completed)["tasks"]} == {task["id"], as_json(waited)["id"]}
    assert as_json(completed)["stats"]["completed"] == 2
    assert table.returncode == 0, table.stderr
    assert task["id"] in table.stdout
    assert "completed" in table.stdout


def test_cancel_from_the_cli(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    task = cli_json("submit", "echo", "--delay", "3600", "--backend", db, cwd=tmp_path)
    canceled = cli_json("cancel", task["id"], "--backend", db, cwd=tmp_path)
    assert (canceled["id"], canceled["status"]) == (task["id"], "canceled")
    got, again, unknown, get_unknown = run_cli_many(
        ("get", task["id"], "--backend", db),
        ("cancel", task["id"], "--backend", db),
        ("cancel", UNKNOWN_ID, "--backend", db),
        ("get", UNKNOWN_ID, "--backend", db),
        cwd=tmp_path,
    )
    assert as_json(got)["status"] == "canceled"
    assert again.returncode == 1
    assert "canceled" in again.stderr
    assert unknown.returncode == 1
    assert "no task" in unknown.stderr
    assert get_unknown.returncode == 1


def test_cli_submit_errors_store_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    unknown, not_json, not_object, missing, bad_priority = run_cli_many(
        ("submit", "nope", "--backend", db),
        ("submit", "echo", "--payload", "{", "--backend", db),
        ("submit", "echo", "--payload", "[1]", "--backend", db),
        ("submit", "add", "--payload", '{"a": 1}', "--backend", db),
        ("submit", "echo", "--priority", "10", "--backend", db),
        cwd=tmp_path,
    )
    assert unknown.returncode != 0
    for known in BUILTIN_TYPES:
        assert known in unknown.stderr
    assert not_json.returncode == 2
    assert not_object.returncode != 0
    assert "payload" in not_object.stderr
    assert missing.returncode != 0
    assert "payload.b" in missing.stderr
    assert bad_priority.returncode != 0
    assert "priority" in bad_priority.stderr
    stats = cli_json("tasks", "--json", "--backend", db, cwd=tmp_path)["stats"]
    assert sum(stats.values()) == 0


def test_config_shows_flag_over_env_over_file_over_default(tmp_path: Path) -> None:
    config = tmp_path / "conveyor.toml"
    config.write_text("threads = 7\nlease_seconds = 12.5\nbackend = 'sqlite:///from-file.db'\n")
    bad = tmp_path / "bad.toml"
    bad.write_text("threads = 0\n")
    env = {"CONVEYOR_THREADS": "9", "CONVEYOR_BACKEND": "sqlite:///from-env.db"}
    flag = ("--backend", "sqlite:///from-flag.db")
    c = str(config)
    defaults, from_file, from_env, flagged, missing, out_of_range = run_cli_many(
        ("config",),
        ("config", "--config", c),
        (env, "config", "--config", c),
        (env, "config", "--config", c, *flag),
        ("config", "--config", str(tmp_path / "missing.toml")),
        ("config", "--config", str(bad)),
        cwd=tmp_path,
    )
    assert (as_json(defaults)["threads"], as_json(defaults)["lease_seconds"]) == (5, 30)
    assert as_json(defaults)["backend"] == "sqlite:///conveyor.db"
    assert (as_json(from_file)["threads"], as_json(from_file)["lease_seconds"]) == (7, 12.5)
    assert as_json(from_file)["backend"] == "sqlite:///from-file.db"
    assert (as_json(from_env)["threads"], as_json(from_env)["lease_seconds"]) == (9, 12.5)
    assert as_json(from_env)["backend"] == "sqlite:///from-env.db"
    assert as_json(flagged)["backend"] == "sqlite:///from-flag.db"
    assert as_json(flagged)["threads"] == 9
    assert missing.returncode == 2
    assert "missing.toml" in missing.stderr
    assert out_of_range.returncode == 2
    assert "threads" in out_of_range.stderr


def test_the_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "conveyor.toml"
    config.write_text("threads = 7\n")
    assert cli_json("config", cwd=tmp_path, env={"CONVEYOR_CONFIG": str(config)})["threads"] == 7


def test_serve_threads_come_from_flag_over_env_over_file(
    server: ServerFactory, tmp_path: Path
) -> None:
    config = tmp_path / "conveyor.toml"
    config.write_text("threads = 7\n")

    def effective_threads(*args: str, env: dict[str, str] | None = None) -> tuple[Any, int]:
        s = server("--processes", "0", "--config", str(config), *args, env=env)
        try:
            [worker] = wait_until(
                lambda: [w for w in s.workers() if w["id"] == s.node_id and w["threads"]],
                what="the worker listed",
            )
            pool = [t for t in worker["threads"] if t["role"] == "consumer"]
            return worker["info"]["threads"], len(pool)
        finally:
            s.stop()

    assert effective_threads() == (7, 7)
    assert effective_threads(env={"CONVEYOR_THREADS": "9"}) == (9, 9)
    assert effective_threads("--threads", "3", env={"CONVEYOR_THREADS": "9"}) == (3, 3)
