"""Huey's benchmark tasks."""

from huey import RedisHuey

from bench import probe

huey = RedisHuey("bench", host="127.0.0.1", port=6379, db=11, blocking=True)


@huey.task()
def noop() -> None:
    probe.noop()


@huey.task()
def stamp(submitted_at: float) -> None:
    probe.stamp(submitted_at)


@huey.task()
def sleep10ms() -> None:
    probe.sleep10ms()
