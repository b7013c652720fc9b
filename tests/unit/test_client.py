"""The Python producer API: @app.task, submit from this or another process, results."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import conveyor
from conveyor import App, TaskContext
from conveyor.backends import Backend
from conveyor.client import Portal
from conveyor.node import Node


def make_app(db_url: str) -> App:
    app = App(backend=db_url)

    @app.task(priority=7)
    def shout(ctx: TaskContext, text: str) -> str:
        return text.upper()

    @app.task(max_attempts=1)
    def explode(ctx: TaskContext) -> None:
        raise RuntimeError("kaboom")

    return app


class BackgroundNode:
    """A worker node on its own event loop thread, as `conveyor worker` would run."""

    def __init__(self, app: App) -> None:
        self.node = Node(app.settings, app.registry, run_workers=True)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> BackgroundNode:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.node.start(), self.loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self.node.stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def app(db_url: str) -> Iterator[App]:
    built = make_app(db_url)
    yield built
    built.close()


def test_submit_and_result(app: App) -> None:
    shout = app.own_registry.get("shout")
    assert shout.options.priority == 7
    with BackgroundNode(app):
        handle = app.submit("shout", text="hi")
        assert handle.result(timeout=10) == "HI"
        assert handle.get().status is conveyor.Status.COMPLETED


def test_task_function_submit_with_options(app: App) -> None:
    @app.task()
    def echo_back(ctx: TaskContext, value: int) -> int:
        return value

    assert echo_back(None, 5) == 5  # type: ignore[arg-type]  # still a plain function
    handle = echo_back.submit(value=3, priority=9, queue="slow")
    task = handle.get()
    assert (task.priority, task.queue, task.payload) == (9, "slow", {"value": 3})


def test_failed_task_raises(app: App) -> None:
    with BackgroundNode(app):
        handle = app.submit("explode")
        with pytest.raises(conveyor.TaskFailedError, match="kaboom"):
            handle.result(timeout=10)


def test_result_times_out_without_workers(app: App) -> None:
    handle = app.submit("shout", text="nobody listens")
    with pytest.raises(conveyor.WaitTimeout):
        handle.result(timeout=0.3)


def test_invalid_submit_is_refused_before_storage(app: App) -> None:
    with pytest.raises(conveyor.InvalidTask) as caught:
        app.submit("shout", text=["not", "text"])
    assert caught.value.field == "payload.text"


def test_a_task_submitted_by_another_process_runs_here(app: App, db_url: str) -> None:
    script = (
        f"import conveyor; app = conveyor.App(backend={db_url!r});"
        " h = app.submit('add', a=2, b=40); print(h.id); app.close()"
    )
    produced = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    task_id = produced.stdout.strip()
    with BackgroundNode(app):
        handle = conveyor.TaskHandle(app, app.portal.call(_get(app, task_id)))
        assert handle.result(timeout=10) == 42


async def _get(app: App, task_id: str) -> conveyor.Task:
    return await (await app.service()).get(task_id)


def test_submit_many_is_all_or_nothing(app: App) -> None:
    handles = app.submit_many("shout", [{"text": "a"}, {"text": "b"}], priority=3)
    assert [h.get().payload for h in handles] == [{"text": "a"}, {"text": "b"}]
    assert {h.get().priority for h in handles} == {3}
    with pytest.raises(conveyor.InvalidTask) as caught:
        app.submit_many("shout", [{"text": "c"}, {"wrong": 1}])
    assert caught.value.field == "tasks[1].payload.text"
    assert app.portal.call(_count(app)) == 2


def _on_threads_at_once(count: int, action: Callable[[int], object]) -> None:
    """Run action(0..count-1) on as many threads, released together by a barrier."""
    start_together = threading.Barrier(count)

    def run(n: int) -> None:
        start_together.wait()
        action(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def test_first_sync_use_from_many_threads_makes_one_portal(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads that submit at the same moment, before the app has its portal, share the
    one that the first of them makes (each used to make its own event loop and open the
    backend again, which SQLite refused with 'database is locked')."""
    made: list[Portal] = []

    class SlowPortal(Portal):
        def __init__(self) -> None:
            time.sleep(0.05)  # widen the window a second thread could slip through
            super().__init__()
            made.append(self)

    monkeypatch.setattr(conveyor.app, "Portal", SlowPortal)
    _on_threads_at_once(4, lambda n: app.submit("shout", text="x"))
    assert len(made) == 1
    assert app.portal.call(_count(app)) == 4


def test_first_async_use_from_loops_on_many_threads_opens_one_backend(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Event loops on several threads that submit at the same moment, before the backend
    is open, wait for the first one's open instead of each opening it again."""
    opened: list[object] = []
    really_open = conveyor.app.open_backend

    def slow_open(url: str) -> Backend:
        backend = really_open(url)
        open_now = backend.open

        async def open_slowly() -> None:
            await asyncio.sleep(0.05)  # widen the window another loop could slip through
            opened.append(backend)
            await open_now()

        backend.open = open_slowly  # type: ignore[method-assign]
        return backend

    monkeypatch.setattr(conveyor.app, "open_backend", slow_open)
    _on_threads_at_once(4, lambda n: asyncio.run(app.asubmit("shout", text="x")))
    assert len(opened) == 1
    assert app.portal.call(_count(app)) == 4


def test_sync_submits_from_many_threads_all_land_once(app: App) -> None:
    """Sync producers store from their own threads (SQLite's blocking path), sharing
    the group commit: every call returns a stored task, none is stored twice."""
    ids: list[str] = []

    def produce(n: int) -> None:
        for i in range(25):
            ids.append(app.submit("shout", text=f"{n}-{i}").id)

    _on_threads_at_once(8, produce)  # first use from all of them: one portal, one backend
    assert len(ids) == len(set(ids)) == 200
    assert app.portal.call(_count(app)) == 200
    with pytest.raises(conveyor.InvalidTask) as caught:
        app.submit("shout", text=1, wrong=2)
    assert caught.value.field.startswith("payload")
    assert app.portal.call(_count(app)) == 200


async def _count(app: App) -> int:
    return sum((await (await app.service()).stats()).by_status.values())


def test_a_backend_url_given_in_place_of_settings_is_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match=r"App\(backend='sqlite:///x.db'\)"):
        App("sqlite:///x.db")  # type: ignore[arg-type]
