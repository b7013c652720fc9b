"""Ingestion streams over HTTP: seed 004's routes and examples, the CSV they fill, limits,
history, metrics and inactivity."""

from __future__ import annotations

import concurrent.futures
import csv
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import Server, ServerFactory, assert_problem, wait_until

# Seed 004's load-testing example, as written there (only the address differs).
SEED_LOOP = """for i in {1..100}; do \\
  curl -s -X POST http://localhost:8888/data \\
    -H 'Content-Type: application/json' \\
    -d '{"pressure":"1013hPa","temperature":"25.1C"}' &
done; wait"""


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


@pytest.fixture
def api(server: ServerFactory) -> Server:
    return server("--processes", "0", "--inactivity-warn-seconds", "1")


def test_the_seed_curl_loop_lands_every_record_once_under_one_header(api: Server) -> None:
    script = SEED_LOOP.replace("http://localhost:8888", api.base_url)
    subprocess.run(["bash", "-c", script], check=True, timeout=60, capture_output=True)
    rows = read_csv(api.workdir / "ingest" / "data.csv")
    assert rows[0] == ["received_at", "pressure", "temperature", "extra"]
    assert len(rows) == 1 + 100
    assert all(r[1:] == ["1013hPa", "25.1C", ""] for r in rows[1:])
    assert api.get("/metrics").json()["write_success_total"] == 100


def test_200_concurrent_posts_each_land_once(api: Server) -> None:
    def post(n: int) -> int:
        with httpx.Client(base_url=api.base_url, timeout=30) as client:
            return client.post("/data2", json={"n": n, "note": 'a, "quoted"\nvalue'}).status_code

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(post, range(200)))
    assert statuses == [201] * 200
    rows = read_csv(api.workdir / "ingest" / "data2.csv")
    assert rows[0] == ["received_at", "n", "note", "extra"]
    assert sorted(int(r[1]) for r in rows[1:]) == list(range(200))
    assert {r[2] for r in rows[1:]} == {'a, "quoted"\nvalue'}


def test_a_batch_and_a_new_field_keep_every_column_in_place(api: Server) -> None:
    first = api.post("/ingest/room-1", json={"temp": 20.5, "unit": "C"})
    assert (first.status_code, first.json()["records"]) == (201, 1)
    batch = api.post(
        "/ingest/room-1",
        json={"records": [{"temp": 21, "unit": "C"}, {"temp": 22, "humidity": 40}]},
    )
    assert (batch.status_code, batch.json()["records"]) == (201, 2)
    rows = read_csv(api.workdir / "ingest" / "room-1.csv")
    assert [r[1:] for r in rows] == [
        ["temp", "unit", "extra"],
        ["20.5", "C", ""],
        ["21", "C", ""],
        ["22", "", '{"humidity":40}'],
    ]


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/ingest/bad name", {"a": 1}, 422, "stream"),
        ("/ingest/x.csv", {"a": 1}, 422, "stream"),
        ("/ingest/ok", {"a": {"b": 1}}, 422, "a"),
        ("/ingest/ok", {"records": [{"a": 1}, []]}, 422, "records[1]"),
        ("/data", {}, 422, "body"),
        ("/data", "text", 422, "body"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(
    api: Server, path: str, body: object, status: int, field: str
) -> None:
    assert_problem(api.post(path, json=body), status, field)
    assert api.get("/metrics").json()["write_success_total"] == 0
    assert not list((api.workdir / "ingest").glob("*.csv"))


def test_malformed_json_is_400(api: Server) -> None:
    response = api.post("/data", content=b"{nope", headers={"content-type": "application/json"})
    assert_problem(response, 400)


def test_inactivity_goes_from_null_to_a_number_and_warns_once(api: Server) -> None:
    before = api.get("/metrics").json()
    assert before["inactivity_seconds"]["data3"] is None
    assert before["last_received"]["data3"] is None
    assert before["inactivity_warn_threshold_sec"] == 1
    assert api.post("/data3", json={"v": 1}).status_code == 201
    after = api.get("/metrics").json()
    assert after["last_received"]["data3"] is not None
    assert 0 <= after["inactivity_seconds"]["data3"] < 1
    wait_until(lambda: "no data received on ingest stream" in api.log(), 10, "inactivity WARN")
    time.sleep(1.5)
    assert api.log().count("stream=data3") == 1  # once per quiet spell


def test_listing_history_and_health(api: Server) -> None:
    for n in range(3):
        assert api.post("/data4", json={"n": n}).status_code == 201
    assert api.post("/ingest/other", json={"n": 9}).status_code == 201
    listed = {s["stream"]: s for s in api.get("/ingest").json()["streams"]}
    assert (listed["data4"]["received"], listed["data4"]["written_total"]) == (3, 3)
    assert listed["other"]["file"].endswith("other.csv")
    entries = api.get("/ingest/data4/history", params={"limit": 2}).json()["entries"]
    assert [e["record"]["n"] for e in entries] == [2, 1]  # newest first, bounded
    everything = api.get("/history/json").json()["entries"]
    assert [e["stream"] for e in everything] == ["other", "data4", "data4", "data4"]
    page = api.get("/history")
    assert page.headers["content-type"].startswith("text/html")
    assert "<table>" in page.text
    assert "n=9" in page.text
    stream_page = api.get("/ingest/data4/history", headers={"accept": "text/html"})
    assert stream_page.headers["content-type"].startswith("text/html")
    assert api.get("/healthz").status_code == 200


def test_ingest_series_in_prometheus_text(api: Server) -> None:
    assert api.post("/data", json={"v": 1}).status_code == 201
    text = api.get("/metrics", headers={"accept": "text/plain"}).text
    assert 'conveyor_ingest_written_total{stream="data"} 1.0' in text
    assert "conveyor_ingest_queue_length 0.0" in text


def test_a_full_queue_answers_503_and_never_acknowledges_a_dropped_record(
    server: ServerFactory,
) -> None:
    api = server("--processes", "0", "--ingest-queue-size", "20")

    def post(n: int) -> tuple[int, int, str | None]:
        with httpx.Client(base_url=api.base_url, timeout=30) as client:
            response = client.post(
                "/ingest/flood", json={"records": [{"n": n, "i": i} for i in range(5)]}
            )
            return n, response.status_code, response.headers.get("retry-after")

    with concurrent.futures.ThreadPoolExecutor(48) as pool:
        results = list(pool.map(post, range(200)))
    stored = {n for n, status, _ in results if status == 201}
    refused = [(status, retry) for _, status, retry in results if status != 201]
    assert refused  # 48 clients against a 20-record queue: some must have been turned away
    assert all(status == 503 and retry for status, retry in refused), refused[:3]
    rows = read_csv(api.workdir / "ingest" / "flood.csv")[1:]
    assert sorted({int(r[1]) for r in rows}) == sorted(stored)
    assert len(rows) == 5 * len(stored)
    too_big = api.post("/ingest/flood", json={"records": [{"n": 1}] * 21})
    assert_problem(too_big, 422, "records")


def test_records_survive_a_restart_and_the_header_is_not_repeated(
    server: ServerFactory,
) -> None:
    first = server("--processes", "0")
    assert first.post("/data", json={"a": 1}).status_code == 201
    first.stop()
    second = server("--processes", "0")
    assert second.post("/data", json={"a": 2}).status_code == 201
    rows = read_csv(second.workdir / "ingest" / "data.csv")
    assert [r[1] for r in rows] == ["a", "1", "2"]
    assert [s["stream"] for s in second.get("/ingest").json()["streams"]] == ["data"]
