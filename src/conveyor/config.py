"""Settings: one object, from CLI flags > CONVEYOR_* environment > TOML file > defaults."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_BACKEND = "sqlite:///conveyor.db"


def default_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    """Every setting Conveyor reads. Environment names are CONVEYOR_ + the field in capitals."""

    model_config = SettingsConfigDict(env_prefix="CONVEYOR_", extra="forbid")
    toml_path: ClassVar[Path | None] = None

    # Server
    host: str = Field("127.0.0.1", description="address the HTTP server binds")
    port: int = Field(8000, ge=0, le=65535, description="HTTP port")
    backend: str = Field(DEFAULT_BACKEND, description="storage URL, e.g. sqlite:///conveyor.db")
    node_id: str = Field(default_factory=default_node_id, description="this process's identity")
    app: str | None = Field(None, description="module:attribute of a conveyor.App with handlers")
    debug: bool = Field(False, description="debug logging and tracebacks in logs")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_file: Path | None = Field(None, description="also log JSON lines to this file (rotated)")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="largest request body accepted")
    max_wait_seconds: float = Field(60.0, gt=0, description="longest ?wait= a client may ask")

    # HTTP server features (conveyor.web)
    static_dir: Path | None = Field(
        None, description="folder served under /static/ (default: none, /static/ answers 404)"
    )
    static_cache: bool = Field(True, description="cache static files in memory from the start")
    static_cache_max_bytes: int = Field(
        64 * 1_048_576, ge=0, description="memory the static file cache may hold, in bytes"
    )
    static_cache_max_file_bytes: int = Field(
        1_048_576, ge=0, description="larger static files are streamed from disk, never cached"
    )
    max_concurrent_requests: int = Field(
        default_factory=lambda: 256 * (os.cpu_count() or 1),
        ge=0,
        description="requests served at once; beyond it a fast 503 (0: unlimited)."
        " /health, /ready and /metrics are never refused. Default: 256 per core",
    )

    # Workers
    workers: bool = Field(True, description="run workers in `serve` (false: API only)")
    processes: int | None = Field(
        None,
        ge=0,
        le=256,
        description="worker child processes; 0 runs the worker inside this process."
        " Default: `serve` starts one per core when there are several, `worker` none",
    )
    threads: int = Field(5, ge=1, le=1024, description="thread slots for sync handlers")
    prefetch: int = Field(
        0,
        ge=0,
        le=1000,
        description="sync tasks claimed beyond free slots: more throughput, but up to this many"
        " lower-priority tasks may start before a higher one submitted after them",
    )
    async_concurrency: int = Field(100, ge=1, description="async handlers running at once")
    queues: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["default"], description="queues to consume"
    )
    lease_seconds: float = Field(30.0, gt=0, description="how long a claim holds a task")
    reap_interval_seconds: float = Field(2.0, gt=0, description="how often expired leases return")
    heartbeat_seconds: float = Field(2.0, gt=0, description="worker heartbeat period")
    startup_wait_seconds: float = Field(
        30.0, ge=0, description="how long a starting node waits for an unreachable backend"
    )
    monitor_interval_seconds: float = Field(0.5, gt=0, description="thread monitor period")
    max_tasks_per_child: int | None = Field(
        None, ge=1, description="a worker process is replaced after this many tasks"
    )
    max_memory_per_child: float | None = Field(
        None, gt=0, description="a worker process is replaced past this RSS, in MB (between tasks)"
    )
    supervised: bool = Field(
        False, description="set by the supervisor for its worker processes (recycling applies)"
    )
    predecessor_exit: str | None = Field(
        None,
        description="set by the supervisor for a worker process it restarts: how the previous"
        " one ended, recorded on the tasks the new one reclaims from it",
    )
    stuck_thread_seconds: float = Field(
        60.0,
        ge=1.0,
        description="a worker thread (consumer, producer, monitor) that shows no sign of life"
        " this long while not running a task is stuck: it is abandoned and replaced",
    )
    cancel_grace_seconds: float = Field(
        10.0, gt=0, description="a running sync task that ignores a cancel this long is abandoned"
    )
    retention_seconds: float = Field(
        7 * 86_400, gt=0, description="finished tasks are purged this long after they finish"
    )
    shutdown_grace_seconds: float = Field(10.0, ge=0, description="time running tasks get on stop")

    # Demo producer
    demo: bool = Field(False, description="run a producer thread submitting demo tasks")
    demo_rate: float = Field(2.0, gt=0, description="demo tasks submitted per second")
    ingest_dir: Path = Field(Path("ingest"), description="folder of the ingest streams' CSV files")
    ingest_queue_size: int = Field(
        5000, ge=1, le=10_000_000, description="records waiting for the disk before 503s"
    )
    inactivity_warn_seconds: float = Field(
        120.0, gt=0, description="WARN when an ingest stream received nothing this long"
    )
    ingest_history_size: int = Field(
        1000, ge=1, le=100_000, description="recent records kept for /history, per stream"
    )
    ingest_guard_formulas: bool = Field(
        True,
        description="prefix text cells starting with = + - @ with ' so spreadsheets don't run them",
    )
    dashboard_history_file: Path = Field(
        Path("conveyor-history.db"),
        description="the dashboard's chart history (a small SQLite file, the last 2 hours)",
    )
    log_max_bytes: int = Field(1_048_576, ge=1024, description="a log file rotates at this size")
    log_backups: int = Field(5, ge=0, le=1000, description="rotated log files kept")
    content_seconds: float = Field(
        3.0,
        ge=0,
        le=3600,
        description="how long a seed-001 `POST /task {content}` task stays processing",
    )

    @field_validator("queues", mode="before")
    @classmethod
    def _split_queues(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("static_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        # Absolute, so a child process or a later chdir means the same folder. Whether it
        # exists is checked by `serve` alone: a worker has no use for it.
        return None if value is None else value.resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as CONVEYOR_* variables, so a child process sees the same ones."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, list):
            text = ",".join(str(item) for item in value)
        else:
            text = str(value)
        env[f"CONVEYOR_{name.upper()}"] = text
    return env


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings with `overrides` (CLI flags that were given) on top of env, file, defaults."""
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"config file not found: {config_file}")
    given = {key: value for key, value in overrides.items() if value is not None}

    class _FromFile(Settings):
        toml_path = config_file

    return Settings.model_validate(_FromFile(**given).model_dump())


def redact(url: str) -> str:
    """The backend URL without a password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
