"""Settings precedence: flag > CONVEYOR_* environment > TOML file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.config import load_settings


def test_defaults() -> None:
    settings = load_settings()
    assert settings.threads == 5
    assert settings.backend == "sqlite:///conveyor.db"
    assert settings.lease_seconds == 30


def test_file_then_env_then_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "conveyor.toml"
    config.write_text('threads = 7\nlease_seconds = 12\nqueues = ["a", "b"]\n')
    assert load_settings(config).threads == 7
    assert load_settings(config).queues == ["a", "b"]
    monkeypatch.setenv("CONVEYOR_THREADS", "9")
    monkeypatch.setenv("CONVEYOR_LEASE_SECONDS", "20")
    from_env = load_settings(config)
    assert (from_env.threads, from_env.lease_seconds) == (9, 20)
    assert load_settings(config, threads=11).threads == 11


def test_queues_from_env_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_QUEUES", "fast, slow")
    assert load_settings().queues == ["fast", "slow"]


def test_bad_values_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("threads = 0\n")
    with pytest.raises(ValueError, match="threads"):
        load_settings(config)
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "missing.toml")


def test_stuck_thread_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().stuck_thread_seconds == 60
    monkeypatch.setenv("CONVEYOR_STUCK_THREAD_SECONDS", "5")
    assert load_settings().stuck_thread_seconds == 5
    # below a few of the idle heartbeats (every 0.25 s), an idle thread would look stuck
    with pytest.raises(ValueError, match="stuck_thread_seconds"):
        load_settings(stuck_thread_seconds=0.5)
