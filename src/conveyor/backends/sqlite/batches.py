"""The batch statements of claim and finish: a few statements for a whole batch, never
one per task. Each statement, and each row fetched, gives up the GIL and must win it
back from a busy worker's threads, which costs far more than the work itself."""

from __future__ import annotations

from conveyor.backends.base import Outcome, OutcomeKind
from conveyor.backends.encoding import dumps, micros
from conveyor.backends.sqlite.rows import COLUMNS

BACK_TO_PENDING = (OutcomeKind.RETRY, OutcomeKind.RELEASE)

CLAIMED = (
    f"SELECT json_group_array(json_array({COLUMNS})) FROM tasks"
    " WHERE status = 'processing' AND lease_expires_us = ? AND lease_token = ?"
)
# Outcomes travel as one JSON array of [id, token, kind, result, error, traceback, run_at].
_OUTCOMES = (
    "SELECT value ->> 0 AS o_id, value ->> 1 AS o_token, value ->> 2 AS o_kind,"
    " value ->> 3 AS o_result, value ->> 4 AS o_error, value ->> 5 AS o_traceback,"
    " value ->> 6 AS o_run_at FROM json_each(?)"
)
HELD = (
    f"SELECT json_group_array(t.id) FROM ({_OUTCOMES}) AS o CROSS JOIN tasks AS t"
    " ON t.id = o.o_id AND t.lease_token = o.o_token AND +t.status = 'processing'"
)
_FINAL = "o_kind IN ('completed', 'failed', 'canceled')"
FINISH = (
    "UPDATE tasks SET"
    " status = CASE WHEN o_kind IN ('retry', 'release') THEN 'pending' ELSE o_kind END,"
    " attempts = CASE o_kind WHEN 'release' THEN max(attempts - 1, 0) ELSE attempts END,"
    f" result = CASE WHEN {_FINAL} THEN o_result ELSE result END,"
    " error = CASE o_kind WHEN 'release' THEN error ELSE o_error END,"
    " traceback = CASE o_kind WHEN 'release' THEN traceback ELSE o_traceback END,"
    f" finished_us = CASE WHEN {_FINAL} THEN ? ELSE finished_us END,"
    " run_at_us = CASE o_kind WHEN 'retry' THEN o_run_at ELSE run_at_us END,"
    " lease_token = NULL, lease_expires_us = NULL, updated_us = ?"
    f" FROM ({_OUTCOMES}) AS o"
    # `+status`: look each task up by id, not every processing task up in the batch
    " WHERE tasks.id = o.o_id AND tasks.lease_token = o.o_token AND +tasks.status = 'processing'"
)


def outcome_values(o: Outcome, now_us: int) -> list[object]:
    result = None if o.result is None else dumps(o.result)
    run_at = micros(o.run_at) if o.run_at is not None else now_us
    return [o.task_id, o.lease_token, o.kind.value, result, o.error, o.traceback, run_at]
