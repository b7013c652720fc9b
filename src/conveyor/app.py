"""The App: settings -> backend -> service, and the `@app.task` decorator users see."""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import threading
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar

from conveyor.backends import Backend, open_backend
from conveyor.client import Portal, TaskFunction, TaskHandle, request_from_kwargs
from conveyor.config import Settings, load_settings
from conveyor.demo import builtin_registry
from conveyor.metrics import Metrics
from conveyor.registry import Registry, TaskOptions
from conveyor.service import TaskRequest, TaskService

P = ParamSpec("P")
R = TypeVar("R")


class App:
    """Handlers plus a lazily opened backend; nothing connects until first use."""

    def __init__(
        self, settings: Settings | None = None, *, backend: str | None = None, builtins: bool = True
    ) -> None:
        if isinstance(settings, str):  # App("sqlite:///x.db") would fail much later, obscurely
            raise TypeError(f"App takes the backend URL by keyword: App(backend={settings!r})")
        self.settings = settings or load_settings(backend=backend)
        self.own_registry = Registry()
        self._builtins = builtins
        self._backend: Backend | None = None
        self._opening: concurrent.futures.Future[Backend] | None = None
        """The first open of the backend, which callers on any loop or thread await."""
        self._services: dict[int, TaskService] = {}
        self._portal: Portal | None = None
        self._blocking_service: TaskService | None = None
        """The portal loop's service, used by sync submits from any thread."""
        # Callers on many threads at once must share one portal and one backend
        # (unguarded, each made its own loop and opened the backend again).
        self._first_use = threading.Lock()
        self.metrics = Metrics()

    def task(
        self,
        name: str | None = None,
        *,
        queue: str | None = None,
        priority: int | None = None,
        max_attempts: int | None = None,
        timeout: float | None = None,
        retry_backoff: float | None = None,
    ) -> Callable[[Callable[P, R]], TaskFunction[P, R]]:
        """Register a handler: `def handler(ctx, **payload_fields)`, sync or async.
        `retry_backoff` is the base in seconds of this type's exponential retry delay."""
        if retry_backoff is not None and retry_backoff <= 0:
            raise ValueError("retry_backoff must be positive")
        options = TaskOptions(
            queue=queue,
            priority=priority,
            max_attempts=max_attempts,
            timeout_s=timeout,
            backoff_s=retry_backoff,
        )

        def register(func: Callable[P, R]) -> TaskFunction[P, R]:
            return TaskFunction(self, self.own_registry.register(func, name, options))

        return register

    @property
    def registry(self) -> Registry:
        """Built-in demo types plus this app's handlers (the app's win on a name clash)."""
        return builtin_registry().merged(self.own_registry) if self._builtins else self.own_registry

    @property
    def portal(self) -> Portal:
        if self._portal is None:
            with self._first_use:
                if self._portal is None:
                    self._portal = Portal()
        return self._portal

    async def backend(self) -> Backend:
        """The backend, opened by the first caller; callers meanwhile, on this loop or
        another, wait for that open rather than start one of their own."""
        if self._backend is not None:
            return self._backend
        with self._first_use:
            opening, first = self._opening, self._opening is None
            if opening is None:
                opening = self._opening = concurrent.futures.Future()
        if not first:
            return await asyncio.wrap_future(opening)
        try:
            backend = open_backend(self.settings.backend)
            await backend.open()
        except BaseException as exc:
            with self._first_use:
                self._opening = None  # the next caller tries again
            opening.set_exception(exc)
            raise
        self._backend = backend
        opening.set_result(backend)
        return backend

    async def service(self) -> TaskService:
        """The service for the running event loop (each loop gets its own group commit)."""
        loop_id = id(asyncio.get_running_loop())
        service = self._services.get(loop_id)
        if service is None:
            backend = await self.backend()
            # Another caller on this loop may have made it while the backend opened.
            service = self._services.setdefault(
                loop_id, TaskService(backend, self.registry, self.settings.node_id, self.metrics)
            )
        return service

    async def asubmit(self, task_type: str, **fields: Any) -> TaskHandle:
        """Submit a task by type name; returns once it is stored."""
        [submitted] = await (await self.service()).submit([request_from_kwargs(task_type, fields)])
        return TaskHandle(self, submitted.task, submitted.created)

    def submit(self, task_type: str, **fields: Any) -> TaskHandle:
        [handle] = self._submit_blocking([request_from_kwargs(task_type, fields)], batch=False)
        return handle

    def _submit_blocking(self, requests: list[TaskRequest], *, batch: bool) -> list[TaskHandle]:
        """Submit from sync code, in the caller's thread (SQLite commits there, Redis runs
        its script there): no hand-off, where the portal's loop took three."""
        if self._blocking_service is None:  # the portal loop's one service, whoever asks
            self._blocking_service = self.portal.call(self.service())
        submitted = self._blocking_service.submit_blocking(requests, batch=batch)
        return [TaskHandle(self, s.task, s.created) for s in submitted]

    async def asubmit_many(
        self, task_type: str, payloads: Iterable[dict[str, Any]], **options: Any
    ) -> list[TaskHandle]:
        """Submit many tasks of one type in one transaction (all or none); `options`
        (priority, queue, ...) apply to each."""
        requests = [request_from_kwargs(task_type, {**fields, **options}) for fields in payloads]
        submitted = await (await self.service()).submit(requests, batch=True)
        return [TaskHandle(self, s.task, s.created) for s in submitted]

    def submit_many(
        self, task_type: str, payloads: Iterable[dict[str, Any]], **options: Any
    ) -> list[TaskHandle]:
        requests = [request_from_kwargs(task_type, {**fields, **options}) for fields in payloads]
        return self._submit_blocking(requests, batch=True)

    def close(self) -> None:
        if self._backend is not None and self._portal is not None:
            self.portal.call(self._backend.close())
        if self._portal is not None:
            self._portal.close()
        self._backend, self._portal, self._blocking_service = None, None, None
        self._opening = None
        self._services.clear()


def load_app(spec: str) -> App:
    """Import `module:attribute` and return the App found there."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--app takes module:attribute, not {spec!r}")
    module = importlib.import_module(module_name)
    app = getattr(module, attribute, None)
    if not isinstance(app, App):
        raise ValueError(f"{spec} is not a conveyor.App (found {type(app).__name__})")
    return app
