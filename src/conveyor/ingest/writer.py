"""The background writer: one thread that group-commits queued records to their files.

Requests put records in a bounded queue and wait; the thread takes everything queued,
appends it per stream with one fsync per file, then answers every waiting request. So
many concurrent requests share one fsync, and a 2xx always means "on disk".
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.errors import IngestBusy, IngestWriteFailed
from conveyor.ingest.csvfile import StreamFile, encode_rows
from conveyor.ingest.records import Record, header, row

logger = logging.getLogger(__name__)

WARN_FRACTION = 0.8
MAX_GROUP = 10_000


@dataclass
class Job:
    stream: str
    records: list[Record]
    done: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


@dataclass
class WriteCounters:
    success: int = 0
    """Records written and fsync'd."""
    errors: int = 0
    """Failed write attempts (each retry that fails counts)."""
    by_stream: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Writer:
    def __init__(
        self,
        folder: Path,
        max_queued: int,
        guard_formulas: bool = True,
        retries: int = 3,
        backoff_s: float = 0.05,
        on_written: Callable[[str, int], None] | None = None,
    ) -> None:
        self.folder = folder
        self.max_queued = max_queued
        self.warn_at = max(1, int(max_queued * WARN_FRACTION))
        self.guard_formulas = guard_formulas
        self.retries = retries
        self.backoff_s = backoff_s
        self.counters = WriteCounters()
        self._on_written = on_written
        self._files: dict[str, StreamFile] = {}
        self._jobs: list[Job] = []
        self._queued = 0
        self._warned = False
        self._condition = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)

    @property
    def queued(self) -> int:
        """Records accepted and not yet on disk."""
        return self._queued

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Write everything queued, then stop: accepted records are never dropped."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        self._thread.join(timeout_s)
        for file in self._files.values():
            file.close()

    async def write(self, stream: str, records: list[Record]) -> None:
        """Return once the records are on disk; IngestBusy when the queue is full,
        IngestWriteFailed when the disk refused them (nothing acknowledged either way)."""
        loop = asyncio.get_running_loop()
        job = Job(stream, records, loop.create_future(), loop)
        with self._condition:
            if self._stopping:
                raise IngestBusy("the server is shutting down")
            if self._queued + len(records) > self.max_queued:
                raise IngestBusy(
                    f"the ingestion queue is full ({self._queued} of {self.max_queued} records"
                    " waiting for the disk); retry shortly"
                )
            self._queued += len(records)
            self._jobs.append(job)
            self._note_level()
            self._condition.notify()
        await asyncio.shield(job.done)  # a client hanging up does not unqueue its records

    def _note_level(self) -> None:
        """WARN once each time the queue crosses the threshold, not once per request."""
        if self._queued >= self.warn_at and not self._warned:
            self._warned = True
            logger.warning(
                "ingestion queue backlog",
                extra={"queue_length": self._queued, "queue_warn_threshold": self.warn_at},
            )
        elif self._queued < self.warn_at:
            self._warned = False

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._jobs and not self._stopping:
                    self._condition.wait()
                if not self._jobs:
                    return
                group = self._take()
            self._commit(group)

    def _take(self) -> list[Job]:
        taken: list[Job] = []
        size = 0
        while self._jobs and (not taken or size + len(self._jobs[0].records) <= MAX_GROUP):
            job = self._jobs.pop(0)
            taken.append(job)
            size += len(job.records)
        return taken

    def _commit(self, group: list[Job]) -> None:
        by_stream: dict[str, list[Job]] = defaultdict(list)
        for job in group:
            by_stream[job.stream].append(job)
        for stream, jobs in by_stream.items():
            error = self._append(stream, [r for job in jobs for r in job.records])
            count = sum(len(job.records) for job in jobs)
            with self._condition:
                self._queued -= count
                self._note_level()
            for job in jobs:
                job.loop.call_soon_threadsafe(_settle, job.done, error)

    def _append(self, stream: str, records: list[Record]) -> Exception | None:
        """Append with retries and backoff; the last error if every attempt failed."""
        error: OSError | None = None
        for attempt in range(self.retries):
            try:
                file = self._file(stream)
                columns = file.columns
                if columns is None:
                    columns = list(dict.fromkeys(k for r in records for k in r.fields))
                data = encode_rows([row(r, columns, self.guard_formulas) for r in records])
                file.append(header(columns), data)
                file.columns = columns
            except OSError as exc:
                error = exc
                self.counters.errors += 1
                logger.warning(
                    "ingest write failed; retrying" if attempt + 1 < self.retries else
                    "ingest write failed; the records are refused",
                    extra={"stream": stream, "attempt": attempt + 1, "error": str(exc)},
                )  # fmt: skip
                self._forget(stream)
                time.sleep(self.backoff_s * 2**attempt)
                continue
            self.counters.success += len(records)
            self.counters.by_stream[stream] += len(records)
            if self._on_written is not None:
                self._on_written(stream, len(records))
            return None
        return IngestWriteFailed(f"could not write to {stream}.csv: {error}")

    def _file(self, stream: str) -> StreamFile:
        file = self._files.get(stream)
        if file is None:
            file = StreamFile(self.folder, stream)
            file.open()
            self._files[stream] = file
        return file

    def _forget(self, stream: str) -> None:
        """Reopen on the next attempt: the error may have been the file's, not the disk's."""
        file = self._files.pop(stream, None)
        if file is not None:
            file.close()

    def open_existing(self) -> list[str]:
        """Repair every stream file in the folder now (at start), not at its first write;
        returns the streams found."""
        self.folder.mkdir(parents=True, exist_ok=True)
        streams = sorted(path.stem for path in self.folder.glob("*.csv"))
        for stream in streams:
            self._file(stream)
        return streams


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
