"""Celery's benchmark tasks."""

from celery import Celery

from bench import probe

# db 8: the test suite shares the machine's Redis on db 14 (by key prefix), and the
# harness empties a peer's db with FLUSHDB.
CELERY_DB = 8
app = Celery("bench", broker=f"redis://127.0.0.1:6379/{CELERY_DB}")
app.conf.update(
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="noop")
def noop() -> None:
    probe.noop()


@app.task(name="stamp")
def stamp(submitted_at: float) -> None:
    probe.stamp(submitted_at)


@app.task(name="sleep10ms")
def sleep10ms() -> None:
    probe.sleep10ms()
