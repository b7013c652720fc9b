"""A thread that owns one SQLite connection and runs jobs for any event loop.

The writer runs every job that queued up while it was busy in one transaction, each in
its own savepoint: that is the group commit (one fsync for many submits, claims and
acks), and a failing job still fails alone. A sync caller's job may instead run on the
caller's own thread (`run_here`), on a second connection.

Checkpoints (copying the WAL back into the database file, with its fsyncs) run on the
writer thread when it has nothing queued (see _CHECKPOINT_BATCH), not inside whichever
commit crossed SQLite's automatic threshold: that commit's caller used to wait for them
(several ms, most of the NORMAL setting's latency p99).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from conveyor.errors import BackendUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")
_MAX_BATCH = 1024
# Waits for another process's write lock: SQLite's own busy handler sleeps 1, 2, 5, 10,
# ... 100 ms between tries, far longer than a lock is held here (a commit, sub-ms to a
# few ms with its fsync), so two workers on one file stalled each other for 100+ ms.
_LOCK_WAIT_FIRST_S = 0.0001
_LOCK_WAIT_MAX_S = 0.002
_LOCK_WAIT_LIMIT_S = 30.0
_SYNCING = frozenset({"FULL", "EXTRA"})
"""The `synchronous` settings whose commits fsync: not run inline on an event loop."""
_CHECKPOINT_BATCH = 100
"""Commits worth a checkpoint as soon as the writer idles _CHECKPOINT_IDLE_S; fewer wait
for _CHECKPOINT_QUIET_S of idleness (a checkpoint after every lone commit would compete
with the next one: +0.1 ms a submit at 200 submits/s)."""
_CHECKPOINT_IDLE_S = 0.005
_CHECKPOINT_QUIET_S = 1.0
_CHECKPOINT_EVERY = 200
"""Commits after which a writer that never idles checkpoints anyway, bounding the WAL."""


@dataclass
class Changes:
    """What a committed job changed that waiters care about."""

    work: bool = False
    final_ids: list[str] = field(default_factory=list)

    def merge(self, other: Changes) -> None:
        self.work = self.work or other.work
        self.final_ids.extend(other.final_ids)


Job = Callable[[sqlite3.Connection, Changes], T]


class WriterBusy(Exception):
    """`run_inline` found the writer (or another process) mid-transaction."""


class _Signal(enum.Enum):
    STOP = "stop"
    WAKE = "wake"  # `run_here` committed: the writer should checkpoint once idle


@dataclass
class _Queued(Generic[T]):
    job: Job[T]
    future: concurrent.futures.Future[T]
    durable: bool


class DbThread:
    """Run jobs on a dedicated connection; `transactional` threads group-commit."""

    def __init__(
        self,
        url: str,
        connect: Callable[[], sqlite3.Connection],
        name: str,
        *,
        transactional: bool,
        on_commit: Callable[[Changes], None] | None = None,
        synchronous: str = "FULL",
    ) -> None:
        self._url = url
        self._connect = connect
        self._transactional = transactional
        self._on_commit = on_commit
        self._synchronous = synchronous
        self._current_synchronous = synchronous  # of this thread's own connection
        # A second connection for `run_here`, used by one calling thread at a time; it
        # runs durable jobs only, so it stays at the configured `synchronous`.
        self._here: sqlite3.Connection | None = None
        self._here_lock = threading.Lock()
        # A third, for `run_inline`: the first thread to call it, non-durable jobs only.
        self._inline: sqlite3.Connection | None = None
        self._inline_thread: int | None = None
        self._inline_owner_lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Queued[object] | _Signal] = queue.SimpleQueue()
        self._commits_unchecked = 0
        """Commits since the last checkpoint, by either connection."""
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._ready = concurrent.futures.Future[None]()

    def start(self) -> None:
        self._thread.start()
        self._ready.result()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(_Signal.STOP)
            self._thread.join(timeout=10)
        with self._here_lock:
            if self._here is not None:
                self._here.close()
                self._here = None
        if self._inline is not None:
            self._inline.close()
            self._inline = None

    async def run(self, job: Job[T], *, durable: bool = True) -> T:
        """Run `job`; `durable=False` lets a transaction holding only such jobs skip the
        fsync (they are durable once any later commit syncs, as WAL frames are ordered)."""
        return await asyncio.wrap_future(self.submit(job, durable=durable))

    def submit(self, job: Job[T], *, durable: bool = True) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        if not self._thread.is_alive():
            future.set_exception(BackendUnavailable(self._url, "the backend is closed"))
            return future
        self._jobs.put(_Queued(job, future, durable))  # type: ignore[arg-type]
        return future

    def run_here(self, job: Job[T]) -> T:
        """Run a durable `job` in its own transaction on the calling thread, sparing a
        sync caller two thread hand-offs (most of a one-row submit's time); if another
        thread is already doing so, queue it for the group commit instead."""
        if not self._transactional or not self._here_lock.acquire(blocking=False):
            return self.submit(job).result()
        try:
            if not self._thread.is_alive():
                raise BackendUnavailable(self._url, "the backend is closed")
            if self._here is None:
                try:
                    self._here = self._connect_writer()
                except sqlite3.Error as exc:
                    raise BackendUnavailable(self._url, str(exc)) from exc
            item = _Queued(job, concurrent.futures.Future[T](), durable=True)
            self._run_transaction(self._here, [item])  # type: ignore[list-item]
            self._wake_to_checkpoint()
        finally:
            self._here_lock.release()
        return item.future.result()

    def run_inline(self, job: Job[T], *, durable: bool) -> T:
        """Run `job` in its own transaction on the calling thread, now, if nothing else
        is writing and its commit needs no fsync (a non-durable job, or any job unless
        the file is at FULL or EXTRA): WriterBusy otherwise, and the caller queues it as
        usual. Two thread hand-offs (and the GIL passed back and forth around each
        statement) are spared: an idle worker's claim and the HTTP server's group commits
        take this path. Only the first thread to call it gets it (its connection is not
        shared); others queue."""
        if (
            not self._transactional
            or (durable and self._synchronous in _SYNCING)
            or not self._jobs.empty()
            or not self._thread.is_alive()
        ):
            raise WriterBusy
        caller = threading.get_ident()
        if self._inline_thread != caller:
            with self._inline_owner_lock:  # two first callers at once: one wins
                if self._inline_thread is None:
                    self._inline_thread = caller
            if self._inline_thread != caller:
                raise WriterBusy
        if self._inline is None:
            try:
                self._inline = self._connect_writer()
                if self._synchronous in _SYNCING:  # so it runs non-durable jobs only
                    self._inline.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as exc:
                raise BackendUnavailable(self._url, str(exc)) from exc
        connection = self._inline
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                raise WriterBusy from None
            raise BackendUnavailable(self._url, str(exc)) from exc
        item = _Queued(job, concurrent.futures.Future[T](), durable)
        self._finish_transaction(connection, [item])  # type: ignore[list-item]
        self._wake_to_checkpoint()
        return item.future.result()

    def _wake_to_checkpoint(self) -> None:
        """After a commit on another thread's connection: the writer, perhaps waiting for
        jobs with no timeout, should checkpoint once idle."""
        if self._commits_unchecked == 1:
            self._jobs.put(_Signal.WAKE)

    def _connect_writer(self) -> sqlite3.Connection:
        connection = self._connect()
        if self._transactional:
            # BEGIN IMMEDIATE waits for the lock in `_begin`; once it is held, WAL gives
            # the transaction's statements nothing else to wait for.
            connection.execute("PRAGMA busy_timeout=0")
            connection.execute("PRAGMA wal_autocheckpoint=0")  # see `_checkpoint`
        return connection

    def _serve(self) -> None:
        try:
            connection = self._connect_writer()
        except Exception as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        try:
            while True:
                try:
                    first = self._jobs.get(timeout=self._idle_before_checkpoint())
                except queue.Empty:
                    self._checkpoint(connection)
                    continue
                batch, stop = self._batch_from(first)
                if batch and self._transactional:
                    self._set_synchronous(connection, any(item.durable for item in batch))
                    self._run_transaction(connection, batch)
                elif batch:
                    for item in batch:
                        _settle(item, *_attempt(connection, item.job, self._url))
                if self._commits_unchecked >= _CHECKPOINT_EVERY:
                    self._checkpoint(connection)
                if stop:
                    return
        finally:
            connection.close()

    def _batch_from(self, first: _Queued[object] | _Signal) -> tuple[list[_Queued[object]], bool]:
        """`first` and the jobs queued behind it (up to _MAX_BATCH), and whether a stop
        came among them."""
        batch: list[_Queued[object]] = []
        item = first
        while True:
            if item is _Signal.STOP:
                return batch, True
            if isinstance(item, _Queued):
                batch.append(item)
                if len(batch) >= _MAX_BATCH:
                    return batch, False
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return batch, False

    def _run_transaction(
        self, connection: sqlite3.Connection, batch: list[_Queued[object]]
    ) -> None:
        try:
            _begin(connection)
        except sqlite3.Error as exc:
            failure = BackendUnavailable(self._url, str(exc))
            for item in batch:
                _settle(item, None, failure)
            return
        self._finish_transaction(connection, batch)

    def _finish_transaction(
        self, connection: sqlite3.Connection, batch: list[_Queued[object]]
    ) -> None:
        """Run the jobs of a transaction begun on `connection`, each in a savepoint when
        there are several, commit, notify, and settle their futures."""
        outcomes: list[tuple[object, BaseException | None]] = []
        committed = Changes()
        single = len(batch) == 1
        try:
            for item in batch:
                if not single:
                    connection.execute("SAVEPOINT job")
                changes = Changes()
                result, error = _attempt(connection, item.job, self._url, changes)
                if not single:
                    if error is not None:
                        connection.execute("ROLLBACK TO job")
                    connection.execute("RELEASE job")
                if error is None:
                    committed.merge(changes)
                elif single:
                    connection.execute("ROLLBACK")
                    _settle(item, None, error)
                    return
                outcomes.append((result, error))
            connection.execute("COMMIT")
            self._commits_unchecked += 1
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            failure = BackendUnavailable(self._url, str(exc))
            for item in batch:
                _settle(item, None, failure)
            return
        if self._on_commit is not None and (committed.work or committed.final_ids):
            try:
                self._on_commit(committed)
            except Exception:
                logger.exception("post-commit notification failed")
        for item, (result, error) in zip(batch, outcomes, strict=True):
            _settle(item, result, error)

    def _idle_before_checkpoint(self) -> float | None:
        if not self._commits_unchecked:
            return None
        if self._commits_unchecked >= _CHECKPOINT_BATCH:
            return _CHECKPOINT_IDLE_S
        return _CHECKPOINT_QUIET_S

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        """Copy committed WAL frames into the database file without waiting for readers
        or writers (PASSIVE); what readers still need is copied by a later one."""
        self._commits_unchecked = 0
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            logger.warning("checkpoint of %s failed; the next one retries", self._url)

    def _set_synchronous(self, connection: sqlite3.Connection, durable: bool) -> None:
        wanted = self._synchronous if durable or self._synchronous != "FULL" else "NORMAL"
        if wanted != self._current_synchronous:
            connection.execute(f"PRAGMA synchronous={wanted}")
            self._current_synchronous = wanted


def _begin(connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, retried with short sleeps while another process writes."""
    delay = _LOCK_WAIT_FIRST_S
    deadline = time.monotonic() + _LOCK_WAIT_LIMIT_S
    while True:
        try:
            connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY  # extended codes too
            if not busy or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, _LOCK_WAIT_MAX_S)


def _attempt(
    connection: sqlite3.Connection, job: Job[T], url: str, changes: Changes | None = None
) -> tuple[T | None, BaseException | None]:
    try:
        return job(connection, changes if changes is not None else Changes()), None
    except sqlite3.OperationalError as exc:
        return None, BackendUnavailable(url, str(exc))
    except Exception as exc:
        return None, exc


def _settle(item: _Queued[T], result: T | None, error: BaseException | None) -> None:
    if item.future.done():
        return
    if error is not None:
        item.future.set_exception(error)
    else:
        item.future.set_result(result)  # type: ignore[arg-type]
