"""One writer at a time on a SQLite file, across processes, without SQLite's sleeping busy handler.

SQLite admits one writer; a connection that finds the write lock taken is put to sleep by its busy
handler for 1, 2, 5, 10 … up to 100 ms between tries, whether or not the lock was freed meanwhile.
With two workers and the HTTP server writing at once, measured here, the workers spent over half
their time asleep that way while the queue grew. Vigie's units take this lock first: an advisory
`flock` on a file beside the database (released by the kernel if the process dies), polled with a
short back-off capped at MAX_POLL_SECONDS, and a re-entrant thread lock, so nested units in one
thread do not wait on themselves and threads of one process queue on the thread lock."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Waiting longer than SQLite's own busy timeout (30 s, bot/store/base.py) means something is stuck.
TIMEOUT_SECONDS = 30.0
FIRST_POLL_SECONDS = 0.0001
MAX_POLL_SECONDS = 0.002


class WriterLockTimeout(Exception):
    """Another process held the store's writer lock for longer than TIMEOUT_SECONDS."""


class WriterLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = os.getpid()

    @contextmanager
    def held(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock; `timeout` (seconds, default TIMEOUT_SECONDS) bounds the wait for it, for
        other threads of this process as for other processes."""
        wait = TIMEOUT_SECONDS if timeout is None else timeout
        if not self._thread_lock.acquire(timeout=wait):
            raise WriterLockTimeout(f"store writer lock {self.path} held by a thread for over {wait:g}s")
        try:
            if self._depth == 0:
                self._acquire(wait)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release()
        finally:
            self._thread_lock.release()

    def _file(self) -> int | None:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except FileNotFoundError:
                return None  # no database folder: SQLite reports that, in its own words
            self._pid = os.getpid()
        return self._fd

    def _acquire(self, timeout: float) -> None:
        fd = self._file()
        if fd is None:
            return
        deadline = time.monotonic() + timeout
        pause = FIRST_POLL_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    message = f"store writer lock {self.path} held for over {timeout:g}s"
                    raise WriterLockTimeout(message) from None
                time.sleep(pause)
                pause = min(pause * 2, MAX_POLL_SECONDS)

    def _release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def lock_path_for(sqlite_url: str) -> Path | None:
    """The lock file beside a SQLite database file; None for an in-memory database."""
    path = sqlite_url.split(":///", 1)[1] if ":///" in sqlite_url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path + "-writer.lock")
