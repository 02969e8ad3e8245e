"""One crawl at a time per data directory.

The lock is an OS lock (``flock``) on a file in the data directory: the kernel releases it when
the process that holds it exits, killed or not, so a stale lock can never block later runs.
The file also tells who holds the lock, for the message the second run prints.

``flock`` locks an open file, not a process: a second ``RunLock`` in the process that holds the
lock is refused too. Within one process the crawl's parts share one hold with ``SharedRunLock``:
``portal-archive crawl`` holds it for the whole job, and the crawl of each portal holds it again
(``crawler/extensions/session.py``), so that plain ``scrapy crawl`` takes it as well.
"""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import ClassVar

LOCK_FILE = "crawl.lock"


class LockedError(RuntimeError):
    """Another process holds the lock."""


class RunLock:
    """``with RunLock(data_dir):`` runs the block only if no other crawl holds the lock."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise LockedError(
                f"another crawl holds {self.path} ({holder or 'holder unknown'})"
            ) from None
        os.ftruncate(fd, 0)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        os.pwrite(fd, f"pid {os.getpid()}, started {started}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def is_held(data_dir: Path) -> bool:
    """Whether a crawl (or a repair) holds the data directory's lock now. Only looks: takes
    nothing, writes nothing (a read-only archive has no crawl running)."""
    path = Path(data_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing lets go of a lock taken here
    return False


class SharedRunLock:
    """The data directory's lock, held once per process however many holders ask for it: the
    first ``acquire`` takes the ``RunLock``, the last ``release`` lets it go."""

    _held: ClassVar[dict[Path, tuple[RunLock, int]]] = {}  # lock file -> (lock, holders)

    def __init__(self, data_dir: Path) -> None:
        self.lock = RunLock(data_dir)
        self.path = self.lock.path.resolve()
        self.holding = False

    def acquire(self) -> None:
        if self.holding:
            return
        lock, holders = self._held.get(self.path, (self.lock, 0))
        if not holders:
            lock.acquire()  # raises LockedError, holding nothing
        self._held[self.path] = (lock, holders + 1)
        self.holding = True

    def release(self) -> None:
        if not self.holding:
            return
        self.holding = False
        lock, holders = self._held.pop(self.path)
        if holders > 1:
            self._held[self.path] = (lock, holders - 1)
        else:
            lock.release()

    def __enter__(self) -> SharedRunLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
