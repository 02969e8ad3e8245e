"""An interrupted crawl resumes where it stopped, without fetching stored articles again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy import Request

from crawler.queues import ProxylessDiskQueue
from tests.conftest import FIXTURES, gold_records, run_cli
from tests.test_warc_archive import committed_articles

PORTAL = "aluoi-tth"
GOLD = [g for g in gold_records() if g["portal"] == PORTAL]


def start_crawl(data: Path, log: Path) -> subprocess.Popen[str]:
    """A slow crawl of one fixture portal (one request at a time, 0.2 s apart)."""
    env = dict(os.environ, PORTAL_ARCHIVE_DATA=str(data), PORTAL_ARCHIVE_FIXTURE_LOG=str(log))
    return subprocess.Popen(
        [sys.executable, "-m", "portal_archive.cli", "crawl", "--fixtures", str(FIXTURES),
         "--portal", PORTAL, "-s", "DOWNLOAD_DELAY=0.2", "-s", "CONCURRENT_REQUESTS=1",
         "-s", "LOG_LEVEL=WARNING"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop_after(proc: subprocess.Popen[str], done: Callable[[], bool], sig: int) -> str:
    """Send ``sig`` once ``done()``; return what the crawl printed."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not done():
        time.sleep(0.05)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    return stderr


def requested(log: Path) -> list[str]:
    """Paths (with query) the fixture server was asked for, in order."""
    return [line.split(" ", 2)[2] for line in log.read_text(encoding="utf-8").splitlines()]


def article_paths(data: Path) -> set[str]:
    conn = sqlite3.connect(data / "index.db")
    try:
        rows = conn.execute("select url from captures where page_type = 'article'").fetchall()
    finally:
        conn.close()
    return {urlsplit(url)._replace(scheme="", netloc="").geturl() for (url,) in rows}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_crawl_resumes_without_fetching_stored_articles(tmp_path, sig):
    data = tmp_path / "data"
    log = tmp_path / "first.log"
    first = start_crawl(data, log)
    stderr = stop_after(first, lambda: log.exists() and len(requested(log)) >= 8, sig)
    assert first.returncode == 1
    assert "interrupted; the next crawl of it resumes" in stderr
    stored_first = committed_articles(data / "index.db")
    assert stored_first < len(GOLD), "the crawl should have been stopped mid-way"
    assert (data / "jobs" / PORTAL / "interrupted.json").exists()
    fetched_first = requested(tmp_path / "first.log")
    articles_first = article_paths(data)

    resumed = run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", PORTAL, "--json",
                      "-s", "LOG_LEVEL=WARNING", data=data,
                      env={"PORTAL_ARCHIVE_FIXTURE_LOG": str(tmp_path / "second.log")})
    fetched_second = requested(tmp_path / "second.log")
    # Nothing the first run fetched is fetched again but the home page and robots.txt, which
    # say whether the portal is up, and the pages under way when the signal came (dropped and
    # kept: one download at a time here, and one page being read); stored articles least of all.
    assert not articles_first & set(fetched_second)
    assert len(set(fetched_first) & set(fetched_second) - {"/", "/robots.txt"}) <= 2
    assert '"finish_reason": "finished"' in resumed.stdout
    assert committed_articles(data / "index.db") == len(GOLD)
    assert not (data / "jobs" / PORTAL).exists(), "a finished crawl leaves no queue behind"


def test_killed_crawl_is_not_resumed_but_crawled_again_completely(tmp_path):
    data = tmp_path / "data"
    first = start_crawl(data, tmp_path / "first.log")
    stop_after(first, lambda: committed_articles(data / "index.db") > 0, signal.SIGKILL)
    assert (data / "jobs" / PORTAL).exists()
    assert not (data / "jobs" / PORTAL / "interrupted.json").exists()
    # A killed crawl's seen-list outlives its queue: trusting it would lose the URLs still
    # queued. The next run starts afresh (incremental: stored articles are not fetched).
    run_cli("verify", "--repair", data=data)
    again = run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", PORTAL,
                    "-s", "LOG_LEVEL=WARNING", data=data)
    assert again.returncode == 0
    assert any("did not stop cleanly" in log.read_text(encoding="utf-8")
               for log in (data / "logs").glob("*.log"))
    assert committed_articles(data / "index.db") == len(GOLD)
    assert not (data / "jobs" / PORTAL).exists()


def test_the_kept_queue_forgets_the_proxy_a_request_went_through(tmp_path):
    # A retried or redirected request carries the proxy of the run that sent it; the run that
    # resumes must send it through its own.
    class Crawler:
        spider = None

    queue = ProxylessDiskQueue(Crawler(), str(tmp_path / "q"))
    sent = Request("http://aluoi-tth.test/tin/1.html",
                   headers={"Proxy-Authorization": "Basic b2xkOnJ1bg==", "Accept": "text/html"},
                   meta={"proxy": "http://127.0.0.1:40001", "_auth_proxy": "http://127.0.0.1:40001",
                         "download_maxsize": 10})
    queue.push(sent)
    queue.close()
    resumed = ProxylessDiskQueue(Crawler(), str(tmp_path / "q"))
    kept = resumed.pop()
    resumed.close()
    assert kept.url == sent.url and kept.meta == {"download_maxsize": 10}
    assert kept.headers.get("Accept") == b"text/html" and b"Proxy-Authorization" not in kept.headers
