"""Helpers of the test_web_* modules: raw HTTP requests (paths sent byte for byte, which
httpx would normalize), the user agents they send, and the /metrics HTTP section."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

from tests.servers import Server

DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def raw_get(server: Server, raw_path: str) -> tuple[int, dict[str, str], bytes]:
    """GET `raw_path` exactly as written: (status, headers in lower case, body)."""
    url = urlsplit(server.base_url)
    assert url.hostname is not None
    assert url.port is not None
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            f"GET {raw_path} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n\r\n".encode()
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def http_metrics(server: Server) -> dict[str, Any]:
    """The "http" section of GET /metrics (JSON)."""
    section: dict[str, Any] = server.get("/metrics").json()["http"]
    return section


def cache_state(server: Server) -> dict[str, Any]:
    state: dict[str, Any] = server.get("/cache").json()
    return state
