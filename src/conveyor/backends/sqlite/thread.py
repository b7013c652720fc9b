"""A thread that owns one SQLite connection and runs jobs for any event loop.

The writer runs every job that queued up while it was busy in one transaction, each in
its own savepoint: that is the group commit (one fsync for many submits, claims and
acks), and a failing job still fails alone. A sync caller's job may instead run on the
caller's own thread (`run_here`), on a second connection.

An event loop may also run a job that needs no fsync on its own thread (`run_inline`),
on a third connection, when nothing else is writing.

Checkpoints (copying the WAL back into the database file, with its fsyncs): the writer
thread's connection runs SQLite's automatic ones after its commits, as usual; the other
two connections never do, so a sync producer's or an event loop's commit does not wait
for one (several ms: most of the NORMAL setting's latency p99). What they commit is
checkpointed by the writer's own commits or, every _CHECKPOINT_BATCH of theirs, by the
writer in between them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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
"""Commits on the side connections (about 700 WAL pages for one-task submits, near
SQLite's own 1,000) after which the writer checkpoints. No side commit runs meanwhile:
one that did would append frames the checkpoint has not copied, the WAL could not start
over from its beginning, and under steady commits it would grow without end."""


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
    WAKE = "wake"  # _CHECKPOINT_BATCH side commits: the writer should checkpoint


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
        wal: Path,
        on_commit: Callable[[Changes], None] | None = None,
        synchronous: str = "FULL",
    ) -> None:
        self._url = url
        self._wal = wal
        """The database's WAL file, which `run_inline_synced` fsyncs."""
        self._connect = connect
        self._transactional = transactional
        self._on_commit = on_commit
        self._synchronous = synchronous
        self._current_synchronous = synchronous  # of this thread's own connection
        # A second connection for `run_here`, used by one calling thread at a time; it
        # runs durable jobs only, so it stays at the configured `synchronous`.
        self._here: sqlite3.Connection | None = None
        # One transaction at a time on the side connections (here, inline), and none
        # while the writer checkpoints.
        self._side_lock = threading.Lock()
        # A third, for `run_inline`: the first thread to call it.
        self._inline: sqlite3.Connection | None = None
        self._inline_thread: int | None = None
        self._jobs: queue.SimpleQueue[_Queued[object] | _Signal] = queue.SimpleQueue()
        self._commits_unchecked = 0
        """Commits on the side connections since the writer last checkpointed."""
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        # fsyncs of the WAL for `run_inline_synced`, off the event loop's thread
        self._syncer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"{name}-sync")
        self._ready = concurrent.futures.Future[None]()

    def start(self) -> None:
        self._thread.start()
        self._ready.result()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(_Signal.STOP)
            self._thread.join(timeout=10)
        with self._side_lock:
            for side in (self._here, self._inline):
                if side is not None:
                    side.close()
            self._here = self._inline = None
        self._syncer.shutdown(wait=True)

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
        if not self._transactional or not self._side_lock.acquire(blocking=False):
            return self.submit(job).result()
        try:
            if not self._thread.is_alive():
                raise BackendUnavailable(self._url, "the backend is closed")
            if self._here is None:
                self._here = self._open_side(fsyncs=True)
            return self._side_transaction(self._here, job, True, _begin)
        finally:
            self._side_lock.release()

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
            or not self._side_lock.acquire(blocking=False)
        ):
            raise WriterBusy
        try:
            caller = threading.get_ident()
            if self._inline_thread is None:
                self._inline_thread = caller
            elif self._inline_thread != caller:
                raise WriterBusy
            if self._inline is None:
                self._inline = self._open_side(fsyncs=self._synchronous not in _SYNCING)
            return self._side_transaction(self._inline, job, durable, _begin_now)
        finally:
            self._side_lock.release()

    async def run_inline_synced(self, job: Job[T]) -> T:
        """A durable `job` on the calling event loop's thread even where commits fsync
        (FULL, EXTRA): its transaction commits inline without a sync, then the WAL file
        is fsync'd on a helper thread, and only then does the result return. That is the
        sync SQLite's FULL makes after each commit, made without stopping the loop: the
        HTTP server parses the next requests meanwhile, and they join the next group
        commit. Others can see the rows from the commit on, a moment before they are
        durable (as with Redis's `appendfsync always`); no caller is answered before.
        WriterBusy as `run_inline`."""
        if self._synchronous not in _SYNCING:
            return self.run_inline(job, durable=True)
        result = self.run_inline(job, durable=False)
        try:
            syncing = asyncio.get_running_loop().run_in_executor(
                self._syncer, self._sync_wal, self._wal
            )
        except RuntimeError:  # closed since the commit: its sync is no longer to be had
            raise BackendUnavailable(self._url, "the backend is closed") from None
        await syncing
        return result

    def _sync_wal(self, wal: Path) -> None:
        # Opened for each sync: SQLite may delete and recreate the file, and an fsync
        # through an old descriptor would sync a file no longer in use.
        try:
            descriptor = os.open(wal, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        except OSError as exc:
            raise BackendUnavailable(self._url, f"fsync of {wal} failed: {exc}") from exc

    def _open_side(self, *, fsyncs: bool) -> sqlite3.Connection:
        """A side connection; one that must not fsync runs at NORMAL."""
        try:
            connection = self._connect_writer(autocheckpoint=False)
            if not fsyncs:
                connection.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise BackendUnavailable(self._url, str(exc)) from exc
        return connection

    def _side_transaction(
        self,
        connection: sqlite3.Connection,
        job: Job[T],
        durable: bool,
        begin: Callable[[sqlite3.Connection], None],
    ) -> T:
        """One job in its own transaction on a side connection (the caller holds the
        side lock)."""
        item = _Queued(job, concurrent.futures.Future[T](), durable)
        if self._run_transaction(connection, [item], begin):  # type: ignore[list-item]
            self._committed_elsewhere()
        return item.future.result()

    def _committed_elsewhere(self) -> None:
        """Count a side commit (the caller holds the side lock); ask the writer for a
        checkpoint every _CHECKPOINT_BATCH."""
        self._commits_unchecked += 1
        if self._commits_unchecked == _CHECKPOINT_BATCH:
            self._jobs.put(_Signal.WAKE)

    def _connect_writer(self, *, autocheckpoint: bool = True) -> sqlite3.Connection:
        connection = self._connect()
        if self._transactional:
            # BEGIN IMMEDIATE waits for the lock in `_begin`; once it is held, WAL gives
            # the transaction's statements nothing else to wait for.
            connection.execute("PRAGMA busy_timeout=0")
            if not autocheckpoint:
                connection.execute("PRAGMA wal_autocheckpoint=0")
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
                first = self._jobs.get()
                batch, stop = self._batch_from(first)
                if batch and self._transactional:
                    self._set_synchronous(connection, any(item.durable for item in batch))
                    self._run_transaction(connection, batch)
                elif batch:
                    for item in batch:
                        _settle(item, *_attempt(connection, item.job, self._url))
                if self._commits_unchecked >= _CHECKPOINT_BATCH:
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
        self,
        connection: sqlite3.Connection,
        batch: list[_Queued[object]],
        begin: Callable[[sqlite3.Connection], None] | None = None,
    ) -> bool:
        """Begin (`_begin` unless told), run the jobs, each in a savepoint when there are
        several, commit, notify, and settle their futures; True once committed."""
        try:
            (begin or _begin)(connection)
        except sqlite3.Error as exc:
            failure = BackendUnavailable(self._url, str(exc))
            for item in batch:
                _settle(item, None, failure)
            return False
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
                    return False
                outcomes.append((result, error))
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            failure = BackendUnavailable(self._url, str(exc))
            for item in batch:
                _settle(item, None, failure)
            return False
        if self._on_commit is not None and (committed.work or committed.final_ids):
            try:
                self._on_commit(committed)
            except Exception:
                logger.exception("post-commit notification failed")
        for item, (result, error) in zip(batch, outcomes, strict=True):
            _settle(item, result, error)
        return True

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        """Copy committed WAL frames into the database file (PASSIVE: without waiting
        for other processes' readers or writers; what they still need, a later one
        copies), with no side commit meanwhile (see _CHECKPOINT_BATCH). Where side
        commits do not fsync (NORMAL, OFF), a first pass runs beside them and does nearly
        all the work: the copy and both fsyncs (WAL, then database file), about 3.5 ms
        on a 2-core VM, which a producer committing every 0.1 ms used to wait out; the
        locked pass then copies only what was committed meanwhile, so the WAL can start
        over. At FULL, producers' own fsyncs would queue behind the first pass's on the
        disk and the locked pass would sync a second time, so it runs alone."""
        try:
            if self._synchronous not in _SYNCING:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            with self._side_lock:
                self._commits_unchecked = 0
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


def _begin_now(connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE once: WriterBusy if another connection holds the write lock."""
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
            raise WriterBusy from None
        raise


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
