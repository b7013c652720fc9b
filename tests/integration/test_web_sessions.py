"""Cookie sessions: issued to browsers on pages and static files, not to API calls;
distinct sessions counted as unique visitors."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.integration.web_support import http_metrics
from tests.servers import Server, ServerFactory

COOKIE = "conveyor_session"


@pytest.fixture(scope="module")
def web(module_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory) -> Server:
    static = tmp_path_factory.mktemp("sessions") / "static"
    static.mkdir()
    (static / "app.js").write_text("console.log(1)")
    return module_server("--no-workers", "--static-dir", str(static))


def _attributes(set_cookie: str) -> tuple[str, set[str]]:
    first, *rest = (part.strip() for part in set_cookie.split(";"))
    name, _, value = first.partition("=")
    assert name == COOKIE
    return value, {part.split("=")[0].lower() for part in rest}


def test_first_visit_gets_a_session_cookie(web: Server) -> None:
    response = httpx.get(f"{web.base_url}/")
    assert response.status_code == 200
    value, attributes = _attributes(response.headers["set-cookie"])
    assert re.fullmatch(r"[0-9a-f]{32}", value)
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "secure" not in attributes  # plain http
    assert "samesite=lax" in response.headers["set-cookie"].lower()


def test_static_files_get_one_and_a_returning_browser_keeps_it(web: Server) -> None:
    with httpx.Client(base_url=web.base_url) as browser:
        first = browser.get("/static/app.js")
        assert COOKIE in first.cookies
        again = browser.get("/static/app.js")
        page = browser.get("/")
        assert "set-cookie" not in again.headers
        assert "set-cookie" not in page.headers


def test_a_forged_cookie_is_replaced(web: Server) -> None:
    response = httpx.get(f"{web.base_url}/", cookies={COOKIE: "../../etc/passwd"})
    value, _ = _attributes(response.headers["set-cookie"])
    assert re.fullmatch(r"[0-9a-f]{32}", value)


def test_secure_behind_https(web: Server) -> None:
    """Behind a TLS-terminating proxy on loopback (X-Forwarded-Proto trusted from there)."""
    response = httpx.get(f"{web.base_url}/", headers={"X-Forwarded-Proto": "https"})
    _, attributes = _attributes(response.headers["set-cookie"])
    assert "secure" in attributes


def test_api_routes_get_no_cookie(web: Server) -> None:
    assert "set-cookie" not in httpx.get(f"{web.base_url}/tasks").headers
    assert "set-cookie" not in httpx.get(f"{web.base_url}/health").headers
    assert "set-cookie" not in httpx.get(f"{web.base_url}/metrics").headers
    submitted = httpx.post(f"{web.base_url}/tasks", json={"type": "echo"})
    assert submitted.status_code == 201
    assert "set-cookie" not in submitted.headers


def test_unique_visitors_count_distinct_sessions(web: Server) -> None:
    before = http_metrics(web)["unique_visitors"]
    for _ in range(3):
        with httpx.Client(base_url=web.base_url) as browser:  # its own cookie jar
            for _ in range(4):
                assert browser.get("/").status_code == 200
                assert browser.get("/static/app.js").status_code == 200
    assert http_metrics(web)["unique_visitors"] == before + 3
    text = web.get("/metrics", headers={"Accept": "text/plain"}).text
    assert f"conveyor_http_unique_visitors {float(before + 3)}" in text


def test_the_cookie_reaches_the_visitor_count_from_a_previous_run(
    server: ServerFactory, tmp_path: Path
) -> None:
    """A session issued before a restart is one visitor after it, not a new cookie."""
    api = server("--no-workers", db="visits.db")
    with httpx.Client(base_url=api.base_url) as browser:
        browser.get("/")
        api.stop()
        again = server("--no-workers", db="visits.db")
        response = browser.get(f"{again.base_url}/")
        assert "set-cookie" not in response.headers
    assert http_metrics(again)["unique_visitors"] == 1
