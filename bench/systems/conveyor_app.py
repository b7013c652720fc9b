"""Conveyor's benchmark handlers (workers load this with --app)."""

from __future__ import annotations

import os

import conveyor
from bench import probe


def build(backend: str) -> conveyor.App:
    app = conveyor.App(backend=backend, builtins=False)

    @app.task()
    def noop(ctx: conveyor.TaskContext) -> None:
        probe.noop()

    @app.task()
    def stamp(ctx: conveyor.TaskContext, submitted_at: float) -> None:
        probe.stamp(submitted_at)

    @app.task()
    def sleep10ms(ctx: conveyor.TaskContext) -> None:
        probe.sleep10ms()

    return app


app = build(os.environ.get("CONVEYOR_BACKEND", "sqlite:///bench.db"))
