"""Cross-process wake-ups for one SQLite file.

SQLite has no LISTEN/NOTIFY, so every process that waits on a database binds a Unix
datagram socket in a folder derived from the file's path; a process that commits new
work or final states sends one datagram to each. Lost datagrams only cost latency:
waits are bounded and re-check storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor.backends.waiters import Waiters

logger = logging.getLogger(__name__)

_WORK = b"w"
_FINAL = b"f"
_MAX_DATAGRAM = 60_000
_PEER_CACHE_S = 0.5


def notify_dir(db_path: Path) -> Path:
    # Socket paths are limited to 108 bytes, so the folder is short and derived from the
    # file's real path rather than placed next to it.
    digest = hashlib.sha1(str(db_path.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"conveyor-{digest}"


class Broadcast:
    """Deliver 'work' and 'final' notices to this process's waiters and to peers."""

    def __init__(self, directory: Path, waiters: Waiters) -> None:
        self._dir = directory
        self._dir_name = str(directory)  # os.stat on a str: a third of Path.stat's cost
        self._waiters = waiters
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._peers: list[Path] = []
        self._peers_read_at = 0.0
        self._peers_changed_ns = -1
        self._lock = threading.Lock()
        self._receivers: dict[asyncio.AbstractEventLoop, _Receiver] = {}

    def listen(self) -> None:
        """Receive peers' notices on the running event loop (needed only by processes
        that wait). Each loop that waits binds a socket of its own and reads it itself:
        a receiving thread would cost a second wake-up (thread, then loop) per notice."""
        loop = asyncio.get_running_loop()
        if loop in self._receivers:
            return
        with self._lock:
            self._forget_closed_loops()
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = self._dir / f"{os.getpid()}-{secrets.token_hex(4)}.sock"
            receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            receiver.bind(str(path))
            receiver.setblocking(False)
            loop.add_reader(receiver.fileno(), self._read, receiver)
            self._receivers[loop] = _Receiver(receiver, path)
            self._peers_read_at = 0.0

    def publish(self, work: bool, final_ids: Sequence[str]) -> None:
        if work:
            self._waiters.notify_work()
        if final_ids:
            self._waiters.notify_final(final_ids)
        messages: list[bytes] = []
        if work:
            messages.append(_WORK)
        if final_ids:
            messages.extend(_final_messages(final_ids))
        if messages:
            for peer in self._current_peers():
                self._send(peer, messages)

    def close(self) -> None:
        """Stop receiving on every loop; a loop running in another thread lets go of its
        socket on its own thread (readers are not thread-safe to remove)."""
        with self._lock:
            receivers, self._receivers = self._receivers, {}
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for loop, receiver in receivers.items():
            receiver.unbind()
            if loop is running or not loop.is_running():  # nobody polls it meanwhile
                receiver.detach(loop)
            else:
                with contextlib.suppress(RuntimeError):  # closed since the check
                    loop.call_soon_threadsafe(receiver.detach, loop)
        self._sender.close()

    def _forget_closed_loops(self) -> None:
        """Sockets of loops that closed without close() (the caller holds the lock)."""
        for loop in [loop for loop in self._receivers if loop.is_closed()]:
            receiver = self._receivers.pop(loop)
            receiver.unbind()
            receiver.detach(loop)

    @property
    def _own_paths(self) -> set[Path]:
        with self._lock:  # a loop may start listening on another thread meanwhile
            return {receiver.path for receiver in self._receivers.values()}

    def _current_peers(self) -> list[Path]:
        """The folder is listed again when its mtime moves (a peer bound or left), so a
        worker that starts is woken by the very next commit; the listing's age still
        bounds how long a change within one mtime tick can go unseen."""
        now = time.monotonic()
        try:
            changed_ns = os.stat(self._dir_name).st_mtime_ns
        except FileNotFoundError:
            changed_ns = 0
        if now - self._peers_read_at > _PEER_CACHE_S or changed_ns != self._peers_changed_ns:
            try:
                found = [p for p in self._dir.iterdir() if p.suffix == ".sock"]
            except FileNotFoundError:
                found = []
            own = self._own_paths
            self._peers = [p for p in found if p not in own]
            self._peers_read_at, self._peers_changed_ns = now, changed_ns
        return self._peers

    def _send(self, peer: Path, messages: list[bytes]) -> None:
        for message in messages:
            try:
                self._sender.sendto(message, str(peer))
            except OSError as exc:
                if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                    # Nobody is bound there any more: a process that died without cleanup.
                    with contextlib.suppress(OSError):
                        peer.unlink()
                    self._peers_read_at = 0.0
                # A full peer buffer (EAGAIN) drops the notice; the peer's bounded wait
                # re-checks storage, so only latency is lost.
                return

    def _read(self, receiver: socket.socket) -> None:
        """Every notice queued on `receiver`; one wake-up for any number of 'work'."""
        work = False
        while True:
            try:
                data = receiver.recv(_MAX_DATAGRAM + 16)
            except OSError:  # nothing more queued (BlockingIOError), or closed
                break
            if data[:1] == _WORK:
                work = True
            elif data[:1] == _FINAL and self._waiters.has_final_waiters:
                self._waiters.notify_final(data[1:].decode().split(","))
        if work:
            self._waiters.notify_work()


@dataclass
class _Receiver:
    """One event loop's bound socket."""

    socket: socket.socket
    path: Path

    def unbind(self) -> None:
        """Remove the socket's name, so that peers stop sending to it."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stop reading (on the loop's own thread, or once it is closed) and close."""
        if not loop.is_closed():
            loop.remove_reader(self.socket.fileno())
        self.socket.close()


def _final_messages(final_ids: Sequence[str]) -> list[bytes]:
    messages: list[bytes] = []
    chunk: list[str] = []
    size = 0
    for task_id in final_ids:
        if size + len(task_id) + 1 > _MAX_DATAGRAM and chunk:
            messages.append(_FINAL + ",".join(chunk).encode())
            chunk, size = [], 0
        chunk.append(task_id)
        size += len(task_id) + 1
    if chunk:
        messages.append(_FINAL + ",".join(chunk).encode())
    return messages
