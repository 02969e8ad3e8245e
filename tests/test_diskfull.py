"""A crawl on a full disk: one line naming the problem and the file, exit status 5, and an
archive that ``verify`` passes (after ``verify --repair`` at most), which the next crawl, with
room again, completes."""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import FIXTURES, gold_records, run_cli
from tests.test_warc_archive import committed_articles

PORTAL = "aluoi-tth"
GOLD = [g for g in gold_records() if g["portal"] == PORTAL]
ROOM = 600 * 1024  # bytes of the tmpfs: the index (~210 KB new) fits, the portal's WARC does not
FILE_ROOM = 300 * 1024  # bytes of one file, where no tmpfs can be mounted (the WARC is ~450 KB)


@contextmanager
def small_disk(path: Path) -> Iterator[bool]:
    """Mount a tmpfs of ``ROOM`` bytes on ``path`` if this machine lets us (root); True if it
    did. Otherwise the crawl's files are limited to ``FILE_ROOM`` bytes each (RLIMIT_FSIZE), which
    fails writes past it with EFBIG instead of ENOSPC: the same path through the crawl."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={ROOM}", "tmpfs", str(path)],
                             capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=True)


def grow(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=64m", str(path)], check=True)


def limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_ROOM, FILE_ROOM))


def test_crawl_on_a_full_disk(tmp_path):
    data = tmp_path / "data"
    with small_disk(data) as mounted:
        proc = subprocess.run(
            [sys.executable, "-m", "portal_archive.cli", "--data", str(data), "crawl",
             "--fixtures", str(FIXTURES), "--portal", PORTAL, "-s", "LOG_LEVEL=INFO"],
            capture_output=True, text=True, timeout=300,
            preexec_fn=None if mounted else limit_file_size)
        assert proc.returncode == 5, proc.stderr[-3000:]
        said = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(said) == 1, proc.stderr
        if mounted:
            assert said[0].startswith(f"disk full: cannot write {data}/"), said
            # Whichever write meets the full disk first: the WARC writer's OSError or SQLite's.
            full = ("(No space left on device)", "(database or disk is full)")
            assert said[0].endswith(full), said
        else:  # SQLite says "disk I/O error" for EFBIG, the WARC writer "File too large"
            assert said[0].startswith(f"cannot write {data}/"), said
        assert "Traceback" not in proc.stderr
        stored = committed_articles(data / "index.db")
        assert stored < len(GOLD)
        if mounted:
            grow(data)
        # Consistent: verify passes, or its --repair makes it pass (a run left 'running', WARC
        # records whose index rows were not written yet).
        if run_cli("verify", data=data, check=False).returncode != 0:
            run_cli("verify", "--repair", data=data)
            run_cli("verify", data=data)
        assert committed_articles(data / "index.db") >= stored
        again = run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", PORTAL,
                        "-s", "LOG_LEVEL=WARNING", data=data, check=False)
        assert again.returncode == 0, again.stderr[-2000:]
        assert committed_articles(data / "index.db") == len(GOLD)
        run_cli("verify", data=data)
