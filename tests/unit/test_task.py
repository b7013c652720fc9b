"""The task's wire shape: RFC 3339 UTC times ending in Z, every documented field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from conveyor.task import Status, Task, format_time
from tests.servers import TASK_FIELDS


def test_times_are_utc_with_microseconds_and_z() -> None:
    assert format_time(datetime(2024, 10, 28, 8, 4, 8, 990161, tzinfo=UTC)) == (
        "2024-10-28T08:04:08.990161Z"
    )
    plus_two = timezone(timedelta(hours=2))
    assert format_time(datetime(2024, 10, 28, 10, 4, 8, tzinfo=plus_two)) == (
        "2024-10-28T08:04:08.000000Z"
    )
    assert format_time(None) is None


def test_json_has_every_documented_field_and_hides_the_lease_token() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    task = Task(
        id="t",
        type="echo",
        payload={},
        priority=5,
        queue="default",
        status=Status.PENDING,
        attempts=0,
        max_attempts=3,
        created_at=now,
        run_at=now,
        lease_token="secret",
    )
    shown = task.to_json()
    for field in TASK_FIELDS:  # the fields the core issue names
        assert field in shown
    assert shown["status"] == "pending"
    assert shown["updated_at"] is None
    assert "secret" not in str(shown)
    assert "secret" not in repr(task)  # logs and tracebacks print tasks
    assert "lease_expires_at=None" in repr(task)


def test_a_task_is_immutable_and_replace_makes_a_changed_copy() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    task = Task("t", "echo", {}, 5, "default", Status.PENDING, 0, 3, now, now)
    claimed = task.replace(status=Status.PROCESSING, attempts=1)
    assert (task.status, task.attempts) == (Status.PENDING, 0)
    assert (claimed.status, claimed.attempts, claimed.id) == (Status.PROCESSING, 1, "t")
    assert claimed == task.replace(status=Status.PROCESSING, attempts=1)
    try:
        task.attempts = 2  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("a task's fields can be set")
