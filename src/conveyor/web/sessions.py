"""Cookie sessions: a random id per browser, issued on pages and static files, and the
number of distinct ids seen, in bounded memory (exact, then HyperLogLog)."""

from __future__ import annotations

import hashlib
import math
import re
import uuid

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "conveyor_session"
MAX_AGE_S = 30 * 86_400
"""A returning browser within 30 days is the same visitor."""

_SESSION_ID = re.compile(r"[0-9a-f]{32}")
_BROWSER_PREFIXES = ("/static/", "/ui/")


class VisitorEstimate:
    """Distinct session ids: exact up to EXACT_UP_TO (a set of 64-bit hashes), then a
    HyperLogLog of 2^12 one-byte registers (4 KiB, about 1.6 % standard error) alone.
    Memory stays bounded whatever the traffic."""

    PRECISION = 12
    EXACT_UP_TO = 1000

    def __init__(self) -> None:
        self._registers = bytearray(1 << self.PRECISION)
        self._exact: set[int] | None = set()

    def add(self, session_id: str) -> None:
        hashed = int.from_bytes(hashlib.blake2b(session_id.encode(), digest_size=8).digest())
        if self._exact is not None:
            self._exact.add(hashed)
            if len(self._exact) > self.EXACT_UP_TO:
                self._exact = None
        index = hashed >> (64 - self.PRECISION)
        rest = hashed & ((1 << (64 - self.PRECISION)) - 1)
        rank = (64 - self.PRECISION) - rest.bit_length() + 1
        if rank > self._registers[index]:
            self._registers[index] = rank

    def estimate(self) -> int:
        if self._exact is not None:
            return len(self._exact)
        registers = len(self._registers)
        alpha = 0.7213 / (1 + 1.079 / registers)
        raw = alpha * registers * registers / sum(2.0**-rank for rank in self._registers)
        empty = self._registers.count(0)
        if raw <= 2.5 * registers and empty:  # small range: linear counting is closer
            return round(registers * math.log(registers / empty))
        return round(raw)


class SessionCookies:
    """Raw ASGI. On a GET or HEAD of a page (text/html) or a static file, a request
    without a valid session cookie gets one (HttpOnly, SameSite=Lax, Secure over https);
    both new and returning ids feed the visitor estimate. API routes get no cookie: their
    clients are programs that drop it, and each call would count as a new visitor."""

    def __init__(self, app: ASGIApp, visitors: VisitorEstimate) -> None:
        self.app = app
        self.visitors = visitors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start" and _for_browsers(path, message):
                session = _session_of(scope)
                if session is None:
                    session = uuid.uuid4().hex
                    message["headers"] = [
                        *message["headers"],
                        (b"set-cookie", _cookie(session, scope["scheme"] == "https")),
                    ]
                self.visitors.add(session)
            await send(message)

        await self.app(scope, receive, send_with_session)


def _for_browsers(path: str, start: Message) -> bool:
    if path == "/" or path.startswith(_BROWSER_PREFIXES):
        return True
    for name, value in start["headers"]:
        if name.lower() == b"content-type":
            return bool(value.startswith(b"text/html"))
    return False


def _session_of(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            session = cookie_parser(value.decode("latin-1")).get(COOKIE)
            if session is not None and _SESSION_ID.fullmatch(session):
                return session
    return None


def _cookie(session: str, secure: bool) -> bytes:
    attributes = f"{COOKIE}={session}; Path=/; Max-Age={MAX_AGE_S}; HttpOnly; SameSite=Lax"
    return (attributes + "; Secure" if secure else attributes).encode("latin-1")
