"""End to end on one backend: N tasks queued, then `conveyor worker --processes P` drains
them; prints tasks/s from starting the worker to the last completion, per P.

    bench/.venv/bin/python -m bench.e2e --backend 'redis://127.0.0.1:6379/15?prefix=e2e'
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import time

import redis

from bench.systems.base import BIN
from bench.systems.conveyor_sys import ConveyorRedis
from conveyor.backends.redis import parse_redis_url


def completed(url: str) -> int:
    client_url, prefix = parse_redis_url(url)
    with redis.Redis.from_url(client_url, decode_responses=True) as client:
        counts = client.hgetall(f"{prefix}counts")
    return sum(int(n) for field, n in counts.items() if field.endswith("|completed"))


def drain(url: str, tasks: int, processes: int) -> float:
    system = ConveyorRedis(url)
    system.clear()  # an App on an empty prefix
    assert system.app is not None
    for start in range(0, tasks, 1000):
        system.app.submit_many("noop", [{}] * min(1000, tasks - start))
    system.app.close()
    env = {**os.environ, "CONVEYOR_BACKEND": url, "CONVEYOR_NODE_ID": f"e2e-{processes}",
           "CONVEYOR_LOG_LEVEL": "WARNING"}  # fmt: skip
    command = [str(BIN / "conveyor"), "worker", "--processes", str(processes), "--threads", "8",
               "--app", "bench.systems.conveyor_app:app"]  # fmt: skip
    started = time.monotonic()
    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = started + 300
        while completed(url) < tasks:
            if time.monotonic() > deadline:
                raise TimeoutError("not drained within 300 s")
            time.sleep(0.05)
        return tasks / (time.monotonic() - started)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        system.clear()
        system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="redis://127.0.0.1:6379/15?prefix=bench-e2e")
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for processes in (1, 2):
        rates = sorted(drain(args.backend, args.tasks, processes) for _ in range(args.repeat))
        print(f"{processes} worker process(es): median {rates[len(rates) // 2]:,.0f} tasks/s"
              f" (runs: {', '.join(f'{r:,.0f}' for r in rates)})")  # fmt: skip


if __name__ == "__main__":
    main()
