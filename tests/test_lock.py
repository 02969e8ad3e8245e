"""One crawl at a time per data directory, and a killed crawl never blocks the next one."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.lock import LockedError, RunLock
from tests.conftest import FIXTURES, gold_records, run_cli

EXIT_LOCKED = 3


def test_a_second_lock_on_the_same_data_directory_is_refused(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(LockedError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path).acquire()
    with RunLock(tmp_path):  # released: free again
        pass


def test_the_lock_of_a_killed_process_is_free_at_once(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from archive.lock import RunLock; RunLock(sys.argv[1]).acquire(); "
         "print('held', flush=True); time.sleep(600)", str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(LockedError):
        RunLock(tmp_path).acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    with RunLock(tmp_path):  # the lock file is still there, the lock is not
        assert (tmp_path / "crawl.lock").exists()


def test_a_crawl_while_another_holds_the_lock_exits_locked_and_writes_nothing(tmp_path):
    with RunLock(tmp_path):
        proc = run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "vinhbao-hp",
                       data=tmp_path, check=False)
    assert proc.returncode == EXIT_LOCKED
    assert "another crawl holds" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "index.db").exists()
    assert not (tmp_path / "warc").exists()


def test_two_crawls_at_once_one_exits_locked_and_the_archive_stays_whole(tmp_path):
    env = {**os.environ, "PORTAL_ARCHIVE_DATA": str(tmp_path)}
    # A slowed crawl, so that it still runs when the second one starts.
    first = subprocess.Popen(
        [sys.executable, "-m", "portal_archive.cli", "crawl", "--fixtures", str(FIXTURES),
         "--portal", "vinhbao-hp", "-s", "DOWNLOAD_DELAY=0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock_file = tmp_path / "crawl.lock"
    while not (lock_file.exists() and lock_file.read_text().startswith("pid")):
        assert first.poll() is None, first.communicate()[1]
        time.sleep(0.05)
    second = run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "vinhbao-hp",
                     "--json", data=tmp_path, check=False)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == EXIT_LOCKED, second.stderr
    assert "another crawl holds" in second.stderr and second.stdout == ""

    conn = sqlite3.connect(tmp_path / "index.db")
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    runs = conn.execute("select job, status, exit_status from runs").fetchall()
    articles = conn.execute("select count(*) from articles").fetchone()[0]
    conn.close()
    assert len(runs) == 1 and runs[0][1:] == ("finished", 0)
    assert articles == len([g for g in gold_records() if g["portal"] == "vinhbao-hp"])
    assert [p.name for p in (tmp_path / "logs").iterdir()] == [f"{runs[0][0]}.log"]
    with RunLock(tmp_path):  # the first one let go of the lock when it finished
        pass


def test_verify_and_repairs_beside_a_running_scrapy_crawl(tmp_path, portal_server):
    # Plain `scrapy crawl` takes the lock itself: a repair beside it is refused, a check says
    # a crawl is running and leaves its files alone, and the crawl loses nothing.
    crawl = subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", "portal", "-a", "url=http://vinhbao-hp.test/",
         "-s", f"PORTAL_PROXY={portal_server.url}", "-s", f"ARCHIVE_DATA_DIR={tmp_path}",
         "-s", "DOWNLOAD_DELAY=0.3", "-s", "CONCURRENT_REQUESTS=1",
         "-s", "AUTOTHROTTLE_ENABLED=False",
         "-s", "LOG_LEVEL=WARNING"],
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    warcs = tmp_path / "warc"
    while not (list(warcs.glob("*.open")) if warcs.exists() else []):
        assert crawl.poll() is None, crawl.communicate()[1]
        time.sleep(0.05)
    # Each says so when it meets the crawl: what they say shows they ran beside it.
    check = run_cli("verify", data=tmp_path, check=False)
    repair = run_cli("verify", "--repair", data=tmp_path, check=False)
    reindex = run_cli("reindex", data=tmp_path, check=False)
    _, err = crawl.communicate(timeout=300)
    assert crawl.returncode == 0, err[-2000:]
    for refused in (repair, reindex):
        assert refused.returncode == 1 and "another crawl holds" in refused.stderr
    assert check.returncode == 0 and "a crawl is running" in check.stdout, check.stdout
    conn = sqlite3.connect(tmp_path / "index.db")
    urls = {u for (u,) in conn.execute("select url from articles")}
    conn.close()
    assert urls == {g["url"] for g in gold_records() if g["portal"] == "vinhbao-hp"}
    assert run_cli("verify", data=tmp_path).returncode == 0
