"""Built-in task types (the demo's, and those the compatibility routes submit) and the
--demo producer thread."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from typing import Any

from conveyor.errors import TaskCanceledError
from conveyor.registry import Registry, TaskContext
from conveyor.worker.roster import Role, Roster, ThreadState
from conveyor.worker.supervised import SupervisedThread

logger = logging.getLogger(__name__)


def calculation(
    ctx: TaskContext, input_value: float = 0, operation: str = "square"
) -> dict[str, Any]:
    """A small numeric job: square, sqrt, factorial or fibonacci of `input_value`."""
    operations: dict[str, Callable[[float], float]] = {
        "square": lambda x: x * x,
        "sqrt": math.sqrt,
        "factorial": lambda x: float(math.factorial(int(x))),
        "fibonacci": _fibonacci,
    }
    if operation not in operations:
        raise ValueError(f"unknown operation {operation!r}; use one of {sorted(operations)}")
    limit = _LIMITS.get(operation)
    if limit is not None and not 0 <= input_value <= limit:
        raise ValueError(f"{operation} takes 0 to {limit} (the result is a float)")
    return {
        "input_value": input_value,
        "operation": operation,
        "result": operations[operation](input_value),
    }


# Past these the result overflows a float (which is what JSON numbers are read as).
_LIMITS = {"factorial": 170, "fibonacci": 1000}


def _fibonacci(n: float) -> float:
    a, b = 0, 1
    for _ in range(int(n)):
        a, b = b, a + b
    return float(a)


def validation(
    ctx: TaskContext, data: Any = None, rules: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Check `data` against simple rules: required keys, and min/max for numbers."""
    errors: list[str] = []
    rules = rules or {}
    if not isinstance(data, dict):
        errors.append("data must be an object")
        data = {}
    for key in rules.get("required", []):
        if key not in data:
            errors.append(f"missing {key}")
    for key, value in data.items():
        if isinstance(value, int | float):
            if "min" in rules and value < rules["min"]:
                errors.append(f"{key} below {rules['min']}")
            if "max" in rules and value > rules["max"]:
                errors.append(f"{key} above {rules['max']}")
    return {"valid": not errors, "errors": errors}


def add(ctx: TaskContext, a: int | float, b: int | float) -> int | float:
    """a + b."""
    return a + b


def sleep(ctx: TaskContext, seconds: float = 1.0) -> dict[str, float]:
    """Sleep in small steps, reporting progress and stopping early when canceled."""
    if not 0 <= seconds <= 3600:
        raise ValueError("seconds must be 0 to 3600")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if ctx.cancelled:
            raise TaskCanceledError(ctx.task_id)
        time.sleep(min(left, 0.1))
        ctx.progress(min(1.0, 1 - max(left - 0.1, 0) / seconds) if seconds else 1.0)
    return {"slept": seconds}


def echo(ctx: TaskContext, **payload: Any) -> dict[str, Any]:
    """Return the payload as the result."""
    return payload


def default(ctx: TaskContext, **fields: Any) -> dict[str, Any]:
    """Seed 000's default processing: a `task_data` whose type has no handler of its own is
    processed here, as the Flask system did; its fields (with that type) come back."""
    return {"processed": True, "type": fields.get("type"), "fields": fields}


def content(ctx: TaskContext, content: str, seconds: float = 3.0) -> None:
    """Seed 001's consumer: the task is `processing` for `seconds`, then `completed`; a
    cancel stops it within a tenth of a second."""
    sleep(ctx, seconds)


def builtin_registry() -> Registry:
    registry = Registry()
    for func in (calculation, validation, add, sleep, echo, default, content):
        registry.register(func)
    return registry


def random_demo_task(rng: random.Random) -> tuple[str, dict[str, Any], int]:
    kind = rng.choice(["calculation", "validation", "add", "sleep", "echo"])
    payloads: dict[str, dict[str, Any]] = {
        "calculation": {
            "input_value": rng.randint(1, 100),
            "operation": rng.choice(["square", "sqrt", "fibonacci"]),
        },
        "validation": {"data": {"x": rng.randint(0, 20)}, "rules": {"max": 15}},
        "add": {"a": rng.randint(0, 1000), "b": rng.randint(0, 1000)},
        "sleep": {"seconds": round(rng.uniform(0.1, 2.0), 2)},
        "echo": {"message": f"hello {rng.randint(1, 10_000)}"},
    }
    return kind, payloads[kind], rng.randint(0, 9)


class DemoProducer(SupervisedThread):
    """A producer thread submitting random demo tasks at `rate` per second."""

    def __init__(
        self,
        submit: Callable[[str, dict[str, Any], int], None],
        rate: float,
        roster: Roster,
    ) -> None:
        super().__init__(roster, "producer", Role.PRODUCER)
        self._submit = submit
        self._interval_s = 1.0 / rate
        self._rng = random.Random()

    def _serve(self) -> None:
        next_at = time.monotonic()
        while not self._stopping.wait(max(0.0, next_at - time.monotonic())):
            next_at += self._interval_s
            kind, payload, priority = random_demo_task(self._rng)
            try:
                self._submit(kind, payload, priority)
                self.record.touch(ThreadState.RUNNING)
            except Exception:
                logger.exception("demo submit failed")
