"""A portal on a bad day: every kind of bad answer is named and counted, nothing else lost,
no traceback (tests/fixtures/badinput: each URL's manifest entry says what it does)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli

BADINPUT = Path(__file__).parent / "fixtures" / "badinput"
# Small caps so the test is quick: the defaults are 50 MB, 30 s and 3 retries.
SETTINGS = ["-s", "DOWNLOAD_MAXSIZE=20000000", "-s", "DOWNLOAD_TIMEOUT=2",
            "-s", "RETRY_TIMES=1", "-s", "LOG_LEVEL=WARNING"]


@pytest.fixture(scope="module")
def bad_crawl(tmp_path_factory):
    data = tmp_path_factory.mktemp("badinput")
    result = run_cli("crawl", "--fixtures", str(BADINPUT), "--json", *SETTINGS, data=data,
                     check=False)
    return data, result


def test_crawl_goes_on_past_every_bad_answer(bad_crawl):
    data, result = bad_crawl
    [summary] = json.loads(result.stdout)
    assert summary["bad_input"] == {
        "too_large": 1,            # 40 MB over a 20 MB cap
        "decompression_bomb": 1,   # 200 KB of gzip inflating to 200 MB
        "xml_entities": 1,         # a sitemap with a "billion laughs" DTD
        "redirect_loop": 1,        # /loop-a -> /loop-b -> /loop-a
        "binary_as_html": 1,       # random bytes served as text/html
        "charset_mismatch": 1,     # a windows-1258 page, utf-8 in the header
        "empty": 1,                # an empty 200
        "connection_reset": 1,     # the connection dies mid-body (after its retry)
        "timeout": 1,              # a server that never answers (after its retry)
    }
    logs = "".join(p.read_text() for p in (data / "logs").glob("*.log"))
    assert "Traceback" not in result.stderr + logs
    conn = sqlite3.connect(data / "index.db")
    stored = {url: title for url, title in conn.execute("select url, title from articles")}
    conn.close()
    # Nothing else lost: the good articles (two known only from the bombed sitemap), and
    # the page whose header lies about its charset, decoded right.
    assert stored == {
        "http://badinput.test/tin/1.html":
            "Hội nghị triển khai kế hoạch phát triển kinh tế xã hội năm 2024",
        "http://badinput.test/tin/2.html": "Ra quân làm đường giao thông nông thôn đầu xuân",
        "http://badinput.test/charset.html": "Tập huấn phòng chống thiên tai cho cán bộ thôn",
        "http://badinput.test/tin/3.html": "Tổng kết phong trào thi đua cuối năm",
    }
    assert run_cli("verify", data=data).returncode == 0


def test_yearless_dateline_takes_its_year_from_the_sitemap(bad_crawl):
    # /tin/3.html prints only "Chiều 12/12"; the sitemap's lastmod says 2023-12-13.
    data, _ = bad_crawl
    conn = sqlite3.connect(data / "index.db")
    row = conn.execute("select published, date_source from articles "
                       "where url = 'http://badinput.test/tin/3.html'").fetchone()
    conn.close()
    assert row == ("2023-12-12", "text")


def test_retry_after_is_waited_for(bad_crawl):
    data, _ = bad_crawl
    conn = sqlite3.connect(data / "index.db")
    answers = conn.execute("select status, time from captures where url like '%/busy.html' "
                           "order by time").fetchall()
    conn.close()
    assert [status for status, _ in answers] == [429, 200]
    (_, busy), (_, served) = answers
    waited = (datetime.fromisoformat(served) - datetime.fromisoformat(busy)).total_seconds()
    assert waited >= 1.0  # the server said Retry-After: 1


def test_crawl_delay_is_kept_between_requests(tmp_path, monkeypatch):
    # baonghean's robots.txt asks for Crawl-delay: 10; ROBOTSTXT_CRAWL_DELAY_MAX caps it at
    # 0.3 s here, and the fixture server logs when each request arrives.
    arrivals = tmp_path / "arrivals.log"
    monkeypatch.setenv("PORTAL_ARCHIVE_FIXTURE_LOG", str(arrivals))
    run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "baonghean",
            "-s", "ROBOTSTXT_CRAWL_DELAY_MAX=0.3", "-s", "LOG_LEVEL=WARNING",
            data=tmp_path / "data")
    times = [float(line.split()[0]) for line in arrivals.read_text().splitlines()
             if "robots.txt" not in line]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) > 20 and min(gaps) >= 0.3 - 0.005
