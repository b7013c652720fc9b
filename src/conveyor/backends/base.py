"""The backend contract: the one seam between Conveyor and storage.

Every method is batch-first and abstract; the conformance suite in tests/backends pins
what each docstring promises. Validation, ids, backoff and metrics live above the seam.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from conveyor.task import JSONObject, JSONValue, Status, Task

LEASE_EXPIRED = "lease expired: its worker stopped renewing it"
"""Why `reap` returned a task, as its error says."""


class OutcomeKind(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    RETRY = "retry"
    """Back to pending, due at `run_at`; the attempt stays counted."""
    RELEASE = "release"
    """Back to pending at once and the attempt is not counted (graceful shutdown)."""
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a worker reports about a task it holds the lease on."""

    task_id: str
    lease_token: str
    kind: OutcomeKind
    result: JSONValue = None
    error: str | None = None
    traceback: str | None = None
    run_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Renewal:
    """Extend the lease on a task, optionally recording progress at the same time."""

    task_id: str
    lease_token: str
    progress: float | None = None
    progress_message: str | None = None


@dataclass(frozen=True, slots=True)
class LeaseState:
    task_id: str
    held: bool
    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The task after a cancel or retry, and its status before it."""

    task: Task
    previous: Status


@dataclass(frozen=True, slots=True)
class TaskFilter:
    status: Status | None = None
    type: str | None = None
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    tasks: list[Task]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Stats:
    by_status: dict[str, int]
    by_queue: dict[str, dict[str, int]]
    totals: dict[str, int] = field(default_factory=dict)
    """Counts that only grow: "submitted", and for each status the tasks that entered it
    (a retry enters "pending" again). Purging does not lower them."""


TOTAL_EVENTS = ("submitted", *(status.value for status in Status))


@dataclass(frozen=True, slots=True)
class Duration:
    """How long a finished task waited (due to started) and ran (started to finished)."""

    wait_s: float
    run_s: float


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """A worker process as it last reported itself; `threads` is its own JSON snapshot."""

    id: str
    node: str
    pid: int
    started_at: datetime
    last_seen: datetime
    threads: list[JSONObject] = field(default_factory=list)
    info: JSONObject = field(default_factory=dict)


class Backend(ABC):
    """Storage, queueing, leases, wake-ups and stats for tasks."""

    url: str

    @abstractmethod
    async def open(self) -> None:
        """Connect and create what storage needs; safe to call on existing storage."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads. Waiters return."""

    @abstractmethod
    async def ping(self) -> None:
        """Return if storage answers, else raise BackendUnavailable."""

    @abstractmethod
    async def diagnostics(self) -> JSONObject:
        """What an operator checks first: `kind`, `server_version` and the storage's own
        facts (file and journal mode, persistence); BackendUnavailable when it is down."""

    @abstractmethod
    async def submit(self, tasks: Sequence[Task]) -> list[Task]:
        """Store new tasks atomically (all or none) and wake idle workers.

        Returns the stored task for each input, in order. A task whose
        `idempotency_key` is already stored is not stored again: the existing task is
        returned in its place (the caller tells by its different id). An id that is
        already stored raises InvalidTask and stores nothing.
        """

    @abstractmethod
    def submit_blocking(self, tasks: Sequence[Task]) -> list[Task]:
        """`submit`, for a caller outside any event loop (a sync producer), in the
        caller's thread: it spares that caller the thread hand-offs of reaching an event
        loop and back. Call `open` first."""

    @abstractmethod
    async def claim(
        self,
        worker_id: str,
        queues: Sequence[str],
        types: Sequence[str],
        limit: int,
        lease_s: float,
        now: datetime,
    ) -> list[Task]:
        """Take up to `limit` due pending tasks of `types` from `queues`, highest priority
        first, then oldest; each becomes processing under a fresh lease token held until
        `now + lease_s`, with attempts counted, `started_at` and `handled_by` set.
        A task is claimed by one worker at a time."""

    @abstractmethod
    async def extend(
        self, renewals: Sequence[Renewal], lease_s: float, now: datetime
    ) -> list[LeaseState]:
        """Move each held lease to `now + lease_s` and store progress given with it.
        A renewal with a stale token changes nothing and reports `held=False`."""

    @abstractmethod
    async def finish(self, outcomes: Sequence[Outcome], now: datetime) -> list[bool]:
        """Record outcomes; each is applied only if its lease token is still current
        (True), else it changes nothing (False: the lease was lost)."""

    @abstractmethod
    async def cancel(self, ids: Sequence[str], now: datetime) -> list[StatusChange | None]:
        """Pending tasks become canceled at once; processing ones get `cancel_requested`;
        finished ones are left as they are. None for an unknown id."""

    @abstractmethod
    async def retry(self, ids: Sequence[str], now: datetime) -> list[StatusChange | None]:
        """Failed and canceled tasks go back to pending, due now, with a fresh attempt
        budget (attempts 0) and their last error kept; others are left as they are.
        None for an unknown id."""

    @abstractmethod
    async def get(self, ids: Sequence[str]) -> list[Task | None]:
        """The tasks with these ids, None where unknown, in order."""

    @abstractmethod
    async def stats(self) -> Stats:
        """Task counts by status, overall and per queue; every status appears."""

    @abstractmethod
    async def reap(self, now: datetime) -> int:
        """As `reclaim`, for processing tasks whose lease expired before `now`, with
        `why` LEASE_EXPIRED. Returns how many were reaped."""

    @abstractmethod
    async def reclaim(self, worker_ids: Sequence[str], why: str, now: datetime) -> int:
        """Return at once every processing task these workers hold (known dead: a process
        that restarts reclaims what its dead predecessor held) to pending, or to failed
        when its attempts are used up, or to canceled when a cancel was requested. The
        attempt stays counted. Unless canceled, its error becomes `why` (how the worker
        died) and then " (attempt N of M, worker W)", and stays while the task is claimed
        again, until an outcome replaces it. Returns how many were reclaimed."""

    @abstractmethod
    async def purge(self, finished_before: datetime, limit: int) -> int:
        """Delete up to `limit` final tasks that finished before `finished_before`;
        returns how many. Pending and processing tasks are never purged."""

    @abstractmethod
    async def durations(self, finished_since: datetime, limit: int) -> list[Duration]:
        """Wait and run times of up to `limit` tasks that completed or failed after
        `finished_since`, the most recent first (for the dashboard's percentiles)."""

    @abstractmethod
    async def wait_for_work(self, queues: Sequence[str], timeout_s: float) -> None:
        """Return when a task in `queues` may be due, or after `timeout_s`. Returns at
        once if one is already due; a submit from any process wakes it."""

    @abstractmethod
    async def wait_for_final(self, task_id: str, timeout_s: float) -> Task | None:
        """The task once it is final, or as it is after `timeout_s`; None if unknown.
        Woken by the change itself, not by polling storage."""

    @abstractmethod
    async def record_worker(self, worker: WorkerRecord) -> None:
        """Register a worker process or refresh its heartbeat and thread snapshot."""

    @abstractmethod
    async def remove_worker(self, worker_id: str) -> None:
        """Forget a worker process that stopped cleanly."""

    @abstractmethod
    async def workers(self) -> list[WorkerRecord]:
        """Every registered worker process, oldest first."""

    @abstractmethod
    async def list(self, filter: TaskFilter, cursor: str | None, limit: int) -> Page:
        """Tasks matching `filter`, newest first, `limit` at most, after `cursor`
        (the id of the last task of the previous page)."""
