"""Shared fixtures: the loopback portal server and one crawl of the bundled fixture portals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal_archive.demo.server import FixtureServer

FIXTURES = Path(__file__).resolve().parent.parent / "portal_archive" / "demo" / "fixtures"
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
