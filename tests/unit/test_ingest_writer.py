"""The ingest writer: group commit, the bounded queue, its WARN, and failed writes."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from conveyor.errors import IngestBusy, IngestWriteFailed
from conveyor.ingest import csvfile
from conveyor.ingest.records import Record
from conveyor.ingest.writer import Writer
from conveyor.task import utcnow


def records(n: int) -> list[Record]:
    return [Record(utcnow(), {"n": i}) for i in range(n)]


class GatedDisk:
    """StreamFile.append that waits for the test to open the gate; counts its calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.gate = threading.Event()
        self.calls = 0
        real = csvfile.StreamFile.append

        def append(file: csvfile.StreamFile, header: list[str] | None, rows: bytes) -> None:
            self.calls += 1
            self.gate.wait(10)
            real(file, header, rows)

        monkeypatch.setattr(csvfile.StreamFile, "append", append)


async def test_concurrent_writes_share_one_append_and_all_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = GatedDisk(monkeypatch)
    writer = Writer(tmp_path, max_queued=1000)
    writer.start()
    first = asyncio.create_task(writer.write("s", records(1)))
    await asyncio.sleep(0.1)  # the writer is now blocked in the first append
    rest = [asyncio.create_task(writer.write("s", records(1))) for _ in range(50)]
    await asyncio.sleep(0.1)
    assert writer.queued == 51
    disk.gate.set()
    await asyncio.gather(first, *rest)
    writer.stop()
    assert disk.calls == 2  # the 50 that queued meanwhile: one append, one fsync
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 1 + 51
    assert writer.counters.success == 51


async def test_a_full_queue_refuses_and_warns_once_per_crossing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    disk = GatedDisk(monkeypatch)
    writer = Writer(tmp_path, max_queued=10)
    writer.start()
    caplog.set_level(logging.WARNING, logger="conveyor.ingest.writer")
    pending = [asyncio.create_task(writer.write("s", records(1))) for _ in range(7)]
    await asyncio.sleep(0.1)
    assert not [r for r in caplog.records if "backlog" in r.message]  # 7 < 8 (80%)
    pending += [asyncio.create_task(writer.write("s", records(1))) for _ in range(3)]
    await asyncio.sleep(0.1)
    with pytest.raises(IngestBusy):
        await writer.write("s", records(1))
    with pytest.raises(IngestBusy):
        await writer.write("s", records(1))
    warnings = [r for r in caplog.records if "backlog" in r.message]
    assert len(warnings) == 1  # crossing 80% once is one WARN, however many requests
    disk.gate.set()
    await asyncio.gather(*pending)
    writer.stop()
    assert writer.counters.success == 10  # every accepted record, none of the refused


async def test_a_failing_disk_is_retried_then_refused_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = iter([OSError(28, "No space left on device")] * 3)

    def append(file: csvfile.StreamFile, header: list[str] | None, rows: bytes) -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        raise AssertionError("not retried more than asked")

    monkeypatch.setattr(csvfile.StreamFile, "append", append)
    writer = Writer(tmp_path, max_queued=100, retries=3, backoff_s=0.01)
    writer.start()
    with pytest.raises(IngestWriteFailed, match="No space left"):
        await writer.write("s", records(2))
    writer.stop()
    assert (writer.counters.errors, writer.counters.success, writer.queued) == (3, 0, 0)


async def test_stop_writes_what_was_accepted(tmp_path: Path) -> None:
    writer = Writer(tmp_path, max_queued=100)
    writer.start()
    writes = [asyncio.create_task(writer.write("s", records(3))) for _ in range(5)]
    await asyncio.sleep(0)
    await asyncio.to_thread(writer.stop)
    await asyncio.gather(*writes)
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 1 + 15
