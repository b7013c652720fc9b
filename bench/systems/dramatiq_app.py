"""Dramatiq's benchmark actors."""

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from bench import probe

broker = RedisBroker(url="redis://127.0.0.1:6379/12")
dramatiq.set_broker(broker)


@dramatiq.actor(max_retries=0)
def noop() -> None:
    probe.noop()


@dramatiq.actor(max_retries=0)
def stamp(submitted_at: float) -> None:
    probe.stamp(submitted_at)


@dramatiq.actor(max_retries=0)
def sleep10ms() -> None:
    probe.sleep10ms()
