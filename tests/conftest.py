"""Shared fixtures: the loopback portal server and one crawl of the bundled fixture portals."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from portal_archive.demo.server import FixtureServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "portal_archive" / "demo" / "fixtures"
# The fixture portals are served by our own loopback server: no politeness delay is owed to it.
FAST_CRAWL = ["-s", "LOG_LEVEL=WARNING"]


def gold_records(root: Path = FIXTURES) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob("gold/*/*.json"))]


def gold_count(portal: str, root: Path = FIXTURES) -> int:
    """Articles the gold records hold for ``portal``: what a full crawl of it must find."""
    return sum(record["portal"] == portal for record in gold_records(root))


def run_cli(*args: str, data: Path | None = None, check: bool = True,
            timeout: float = 300, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    """Run ``portal-archive`` in a child process, as a user would (Scrapy's reactor cannot be
    started twice in one process)."""
    env = {**os.environ, **(env or {})}
    if data is not None:
        env["PORTAL_ARCHIVE_DATA"] = str(data)
    proc = subprocess.run(
        [sys.executable, "-m", "portal_archive.cli", *args],
        capture_output=True, text=True, env=env, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"portal-archive {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc


def read_terminal(fd: int) -> bytes:
    """Everything a child wrote to the pseudo-terminal ``fd`` until it closed it."""
    output = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    return output


@pytest.fixture(scope="session")
def portal_server():
    """The bundled fixture portals served on 127.0.0.1, as a proxy that routes by host."""
    with FixtureServer(FIXTURES) as server:
        yield server


@pytest.fixture(scope="session")
def crawled_archive(tmp_path_factory) -> Path:
    """A data directory holding one crawl of every bundled fixture portal."""
    data = tmp_path_factory.mktemp("archive")
    run_cli("crawl", "--fixtures", str(FIXTURES), *FAST_CRAWL, data=data)
    return data


# -- SQLite connections ------------------------------------------------------------------------

OUR_CODE = tuple(str(ROOT / room) + os.sep
                 for room in ("archive", "crawler", "cleaners", "portal_archive", "tests"))
_connect = sqlite3.connect


class _Tracked(sqlite3.Connection):
    """A connection opened by our code during a test."""


def _opened_by_us() -> bool:
    """Whether the caller of ``sqlite3.connect`` is our code, directly or through sqlite-utils
    (whose Database wraps the one connection its caller owns)."""
    frame = sys._getframe(2)
    while frame is not None and f"{os.sep}sqlite_utils{os.sep}" in frame.f_code.co_filename:
        frame = frame.f_back
    return frame is not None and frame.f_code.co_filename.startswith(OUR_CODE)


def _is_open(conn: sqlite3.Connection) -> bool:
    try:
        conn.total_changes  # noqa: B018 - raises on a closed connection
    except sqlite3.ProgrammingError:
        return False
    return True


@pytest.fixture(autouse=True)
def sqlite_connections_closed(monkeypatch):
    """Every SQLite connection our code or a test opens during a test is closed by its end.

    An open connection keeps the database's -wal and -shm files beside it, and what sits in
    the -wal is not in the file that a copy, an immutable reader (``datasette -i``) or the next
    test reads; it holds a file descriptor and a lock too. A test that leaves one open fails,
    naming the database; the connection is closed all the same. The connections a library
    opens for itself (Datasette's) are its business, and are not counted.
    """
    opened: list[tuple[weakref.ref, str]] = []

    def connect(database, *args, **kwargs):
        ours = _opened_by_us()
        if ours:
            kwargs.setdefault("factory", _Tracked)
        conn = _connect(database, *args, **kwargs)
        if ours and isinstance(conn, _Tracked):
            opened.append((weakref.ref(conn), str(database)))
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    yield
    left = []
    for ref, name in opened:
        conn = ref()
        if conn is not None and _is_open(conn):
            conn.close()
            left.append(name)
    if left:
        pytest.fail(f"SQLite connections left open by the test: {', '.join(left)}")
