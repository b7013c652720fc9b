"""kill -9 during ingestion: after a restart every acknowledged record is in its CSV file
exactly once, and no record is half-written."""

from __future__ import annotations

import csv
import signal
import threading
from pathlib import Path

import httpx

from tests.servers import ServerFactory, wait_until

CLIENTS = 12
PADDING = "x" * 300  # long rows make a write cut short mid-record more likely


def test_acknowledged_records_survive_kill_9_exactly_once(workdir: Path) -> None:
    factory = ServerFactory(workdir, node_prefix="ingest")
    try:
        api = factory("--processes", "0")
        acknowledged: set[tuple[int, int]] = set()
        lock = threading.Lock()
        stop = threading.Event()

        def client(number: int) -> None:
            with httpx.Client(base_url=api.base_url, timeout=10) as http:
                for seq in range(100_000):
                    if stop.is_set():
                        return
                    body = {"records": [
                        {"client": number, "seq": seq, "part": part, "note": f"{PADDING}\n,\""}
                        for part in range(3)
                    ]}  # fmt: skip
                    try:
                        response = http.post(f"/ingest/crash{number % 3}", json=body)
                    except httpx.HTTPError:
                        return  # the server is gone
                    if response.status_code == 201:
                        with lock:
                            acknowledged.add((number, seq))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        wait_until(lambda: len(acknowledged) >= 300, 30, "records flowing")
        api.stop(signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(15)
        assert not any(thread.is_alive() for thread in threads)

        restarted = factory("--processes", "0")  # opens and repairs the files
        assert restarted.post("/ingest/crash0", json={"client": -1, "seq": 0}).status_code == 201
        restarted.stop()

        seen: dict[tuple[int, int, int], int] = {}
        for path in sorted((workdir / "ingest").glob("crash*.csv")):
            with path.open(newline="", encoding="utf-8") as file:
                rows = list(csv.reader(file))
            assert rows[0] == ["received_at", "client", "seq", "part", "note", "extra"]
            for row in rows[1:]:
                assert len(row) == 6, row  # no torn or shifted record
                assert row[4] in ("", f'{PADDING}\n,"'), row
                key = (int(row[1]), int(row[2]), int(row[3]) if row[3] else 0)
                seen[key] = seen.get(key, 0) + 1
        missing = [(c, s, p) for c, s in acknowledged for p in range(3) if (c, s, p) not in seen]
        assert not missing, f"{len(missing)} acknowledged records lost, e.g. {missing[:3]}"
        assert all(count == 1 for count in seen.values())  # none written twice
        print(f"acknowledged {len(acknowledged) * 3} records before kill -9; all there once")
    finally:
        factory.close()
