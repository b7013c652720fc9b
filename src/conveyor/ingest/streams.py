"""Ingestion as the routes see it: streams with their counters, bounded history, the
inactivity watch, and the seed's metric keys."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from conveyor.errors import InvalidRecord
from conveyor.ingest.records import STREAM_NAME, check_stream, parse_body
from conveyor.ingest.writer import Writer
from conveyor.task import JSONObject, format_time, utcnow

logger = logging.getLogger(__name__)

SEED_STREAMS = ("data", "data2", "data3", "data4")
"""The Flask10X system's endpoints: always listed in its metric keys, as it did."""
MAX_STREAMS = 1000


@dataclass
class Stream:
    name: str
    received: int = 0
    last_received: datetime | None = None
    last_received_monotonic: float | None = None
    inactive_warned: bool = False
    history: deque[JSONObject] = field(default_factory=deque)

    def inactivity_s(self, now: float) -> float | None:
        if self.last_received_monotonic is None:
            return None
        return round(now - self.last_received_monotonic, 3)


class Ingestion:
    def __init__(
        self,
        folder: Path,
        queue_size: int,
        inactivity_warn_s: float,
        history_size: int = 1000,
        guard_formulas: bool = True,
    ) -> None:
        self.folder = folder
        self.inactivity_warn_s = inactivity_warn_s
        self.history_size = history_size
        self.writer = Writer(folder, queue_size, guard_formulas)
        self.streams: dict[str, Stream] = {}
        self.history: deque[JSONObject] = deque(maxlen=history_size)
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for name in await asyncio.to_thread(self.writer.open_existing):
            if STREAM_NAME.match(name):
                self._stream(name)
        self.writer.start()
        self._watch = asyncio.create_task(self._watch_inactivity())

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await asyncio.to_thread(self.writer.stop)

    async def ingest(self, stream_name: str, body: Any, client: str | None) -> int:
        """Store the body's records durably; the count stored."""
        check_stream(stream_name)
        if stream_name not in self.streams and len(self.streams) >= MAX_STREAMS:
            raise InvalidRecord(f"stream: at most {MAX_STREAMS} streams", field="stream")
        received_at = utcnow()
        records = parse_body(body, received_at)
        if len(records) > self.writer.max_queued:  # it could never fit: retrying won't help
            raise InvalidRecord(
                f"records: at most {self.writer.max_queued} per request (--ingest-queue-size)",
                field="records",
            )
        await self.writer.write(stream_name, records)
        stream = self._stream(stream_name)
        stream.received += len(records)
        stream.last_received = received_at
        stream.last_received_monotonic = time.monotonic()
        stream.inactive_warned = False
        for record in records:
            entry = {
                "received_at": format_time(received_at),
                "stream": stream_name,
                "client": client,
                "record": record.fields,
            }
            stream.history.append(entry)
            self.history.append(entry)
        return len(records)

    def _stream(self, name: str) -> Stream:
        stream = self.streams.get(name)
        if stream is None:
            stream = self.streams[name] = Stream(name, history=deque(maxlen=self.history_size))
        return stream

    def recent(self, stream_name: str | None, limit: int) -> list[JSONObject]:
        """Newest first; one stream's or all of them."""
        if stream_name is None:
            source: deque[JSONObject] = self.history
        else:
            stream = self.streams.get(check_stream(stream_name))
            source = stream.history if stream is not None else deque()
        return list(itertools.islice(reversed(source), limit))

    def listing(self) -> list[JSONObject]:
        now = time.monotonic()
        return [
            {
                "stream": stream.name,
                "file": str((self.folder / f"{stream.name}.csv").resolve()),
                "received": stream.received,
                "written_total": self.writer.counters.by_stream.get(stream.name, 0),
                "last_received": format_time(stream.last_received),
                "inactivity_seconds": stream.inactivity_s(now),
            }
            for stream in sorted(self.streams.values(), key=lambda s: s.name)
        ]

    def seed_metrics(self) -> JSONObject:
        """The Flask10X `/metrics` keys, each stream (and its four endpoints) by name."""
        now = time.monotonic()
        names = sorted(set(SEED_STREAMS) | set(self.streams))
        streams = {name: self.streams.get(name) for name in names}
        return {
            "queue_length": self.writer.queued,
            "queue_warn_threshold": self.writer.warn_at,
            "write_success_total": self.writer.counters.success,
            "write_error_total": self.writer.counters.errors,
            "last_received": {
                name: format_time(s.last_received) if s else None for name, s in streams.items()
            },
            "inactivity_seconds": {
                name: s.inactivity_s(now) if s else None for name, s in streams.items()
            },
            "inactivity_warn_threshold_sec": self.inactivity_warn_s,
        }

    async def _watch_inactivity(self) -> None:
        interval = min(5.0, max(0.2, self.inactivity_warn_s / 4))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for stream in list(self.streams.values()):
                idle = stream.inactivity_s(now)
                if (
                    idle is not None
                    and idle >= self.inactivity_warn_s
                    and not stream.inactive_warned
                ):
                    stream.inactive_warned = True  # once per quiet spell, not every check
                    logger.warning(
                        "no data received on ingest stream",
                        extra={"stream": stream.name, "inactivity_seconds": round(idle, 1)},
                    )


class IngestCollector(Collector):
    """The ingestion counters as Prometheus series, read when scraped (nothing counted twice)."""

    def __init__(self, ingestion: Ingestion) -> None:
        self.ingestion = ingestion

    def collect(self) -> Iterable[Metric]:
        writer = self.ingestion.writer
        queue = GaugeMetricFamily(
            "conveyor_ingest_queue_length", "Records accepted and not yet on disk"
        )
        queue.add_metric([], writer.queued)
        written = CounterMetricFamily(
            "conveyor_ingest_written", "Records written and fsync'd", labels=["stream"]
        )
        for stream, count in sorted(writer.counters.by_stream.items()):
            written.add_metric([stream], count)
        errors = CounterMetricFamily("conveyor_ingest_write_errors", "Failed write attempts")
        errors.add_metric([], writer.counters.errors)
        last = GaugeMetricFamily(
            "conveyor_ingest_last_received_timestamp_seconds",
            "When each stream last received a record",
            labels=["stream"],
        )
        for known in self.ingestion.streams.values():
            if known.last_received is not None:
                last.add_metric([known.name], known.last_received.astimezone(UTC).timestamp())
        return [queue, written, errors, last]
