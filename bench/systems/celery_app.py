"""Celery's benchmark tasks."""

from celery import Celery

from bench import probe

app = Celery("bench", broker="redis://127.0.0.1:6379/14")
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
