"""One stream's CSV file: its header, a torn tail repaired on open, and appends that are
locked (other processes may share the folder) and fsync'd before they count as written.

A record ends at a newline outside quotes, so the file's committed length is always a
record boundary. That length is also kept in a small side file after each append (not
fsync'd: any length it held is a boundary, so a stale one only means scanning further).
On open, the bytes after the last known boundary are scanned, and anything after the
last complete record (a write cut short by kill -9 or a power cut) is cut off; those
records were never acknowledged.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

_QUOTE_OR_NEWLINE = re.compile(rb'["\n]')
_HEAD_BYTES = 1 << 16


def last_boundary(data: bytes, start: int = 0) -> int:
    """The offset just past the last newline that is outside quotes (a record's end),
    counting from `start`, which must itself be a boundary; `start` if there is none."""
    quoted = False
    boundary = start
    for match in _QUOTE_OR_NEWLINE.finditer(data, start):
        if match.group() == b'"':
            quoted = not quoted  # an escaped "" toggles twice
        elif not quoted:
            boundary = match.end()
    return boundary


def encode_rows(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


class StreamFile:
    """Appends to `<folder>/<stream>.csv`; one instance per stream per process."""

    def __init__(self, folder: Path, stream: str) -> None:
        self.path = folder / f"{stream}.csv"
        self._mark = folder / f".{stream}.csv.length"
        self._fd: int | None = None
        self.columns: list[str] | None = None
        """The header's stream fields (without received_at and extra); None until the
        file has a header."""

    def open(self) -> None:
        """Open (creating the file and folder), repair a torn tail, read the header."""
        created = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        if created:
            _fsync_folder(self.path.parent)
        with self._locked():
            self._repair()
            self.columns = self._read_header()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def append(self, header: list[str] | None, rows: bytes) -> None:
        """Write the rows (after `header` when the file has none yet) and fsync; on any
        error, cut the file back to where it was, so no partial record stays."""
        fd = self._require_fd()
        with self._locked():
            size = os.fstat(fd).st_size
            data = rows
            if size == 0 and header is not None:
                data = encode_rows([header]) + rows
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
            self._remember(size + len(data))

    def _require_fd(self) -> int:
        if self._fd is None:
            self.open()
        assert self._fd is not None
        return self._fd

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = self._require_fd()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield None
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _repair(self) -> None:
        fd = self._require_fd()
        size = os.fstat(fd).st_size
        start = self._remembered()
        if start is None or start > size:
            start = 0
        if start == size:
            return
        tail = os.pread(fd, size - start, start)
        end = start + last_boundary(tail)
        if end < size:
            logger.warning(
                "ingest file had a torn last record (a write cut short); cut it off",
                extra={"file": str(self.path), "bytes_removed": size - end},
            )
            os.ftruncate(fd, end)
            os.fsync(fd)
        self._remember(end)

    def _read_header(self) -> list[str] | None:
        head = os.pread(self._require_fd(), _HEAD_BYTES, 0)
        end = last_boundary(head)
        if end == 0:
            return None
        header = next(csv.reader(io.StringIO(head[:end].decode("utf-8"), newline="")))
        return header[1:-1]  # received_at ... extra

    def _remembered(self) -> int | None:
        try:
            return int(self._mark.read_text())
        except (OSError, ValueError):
            return None

    def _remember(self, length: int) -> None:
        temporary = self._mark.with_suffix(".tmp")
        try:
            temporary.write_text(str(length))
            os.replace(temporary, self._mark)
        except OSError:  # only a hint for the next repair: losing it costs a longer scan
            pass


def _fsync_folder(folder: Path) -> None:
    """A new file's directory entry is durable only once its folder is fsync'd."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
