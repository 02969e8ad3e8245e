"""Plain ``scrapy`` works inside the project, as Scrapy users expect."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from archive.lock import RunLock
from tests.conftest import gold_records

ROOT = Path(__file__).resolve().parent.parent


def scrapy(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_scrapy_list_shows_the_portal_spider():
    proc = scrapy("list")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["portal"]


def test_scrapy_crawl_with_spider_arguments(portal_server, tmp_path):
    proc = scrapy(
        "crawl", "portal", "-a", "url=http://vinhbao-hp.test/", "-a", "district=Vĩnh Bảo",
        "-s", f"PORTAL_PROXY={portal_server.url}", "-s", f"ARCHIVE_DATA_DIR={tmp_path}",
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=INFO",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    conn = sqlite3.connect(tmp_path / "index.db")
    urls = {url for (url,) in conn.execute("select url from articles")}
    district = conn.execute("select district from portals").fetchone()[0]
    conn.close()
    assert urls == {g["url"] for g in gold_records() if g["portal"] == "vinhbao-hp"}
    assert district == "Vĩnh Bảo"
    assert list((tmp_path / "warc").glob("*.warc.gz"))


def test_scrapy_crawl_unknown_portal_is_one_clear_line():
    proc = scrapy("crawl", "portal", "-a", "portal=no-such-portal")
    assert proc.returncode == 2
    assert "unknown portal id 'no-such-portal'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_scrapy_crawl_takes_the_data_directorys_lock(portal_server, tmp_path):
    with RunLock(tmp_path):  # as `portal-archive crawl` or `verify --repair` holds it
        proc = scrapy("crawl", "portal", "-a", "url=http://vinhbao-hp.test/",
                      "-s", f"PORTAL_PROXY={portal_server.url}",
                      "-s", f"ARCHIVE_DATA_DIR={tmp_path}")
    assert proc.returncode == 3
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "another crawl holds" in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    # Nothing written: no index, no WARC, and no job directory of its own.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crawl.lock"]
