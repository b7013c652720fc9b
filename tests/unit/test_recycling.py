"""When a supervised worker process retires: by task count or by resident memory."""

from conveyor.worker.recycling import recycle_reason, rss_mb


def test_by_task_count() -> None:
    assert recycle_reason(5, None, 4) is None
    assert recycle_reason(5, None, 5) == "ran 5 tasks (max 5 per process)"


def test_by_memory() -> None:
    current = rss_mb()
    assert current > 5  # a Python process with its imports
    assert recycle_reason(None, current * 4, 0) is None
    reason = recycle_reason(None, 1, 0)
    assert reason is not None
    assert "(max 1 MB per process)" in reason
