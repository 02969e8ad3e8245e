"""On a terminal, a crawl shows one live progress line on stderr."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

from tests.conftest import FIXTURES, gold_records, read_terminal


def test_a_crawl_on_a_terminal_shows_live_progress(tmp_path):
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "portal_archive.cli", "--data", str(tmp_path), "crawl",
         "--fixtures", str(FIXTURES), "--portal", "vinhbao-hp", "-s", "PROGRESS_INTERVAL=0.2"],
        stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    screen = read_terminal(master)
    proc.wait(timeout=120)
    os.close(master)
    stdout = proc.stdout.read()
    proc.stdout.close()
    assert proc.returncode == 0
    assert stdout == ""  # the summary table is for a terminal; stdout is a pipe here
    lines = screen.decode().split("\r\x1b[K")
    final = lines[-1].strip()
    assert final.startswith("portals 1/1  pages ")
    articles = sum(1 for g in gold_records() if g["portal"] == "vinhbao-hp")
    assert f"  new {articles}  " in final and "pages/min" in final and "errors " in final
    # While it ran: the portal's own rate and queue after the totals.
    assert any(re.search(r"  \|  vinhbao-hp \d+ pages/min  \d+ queued", line) for line in lines)
    assert "Spider closed" not in screen.decode()  # Scrapy's log went to the log file
