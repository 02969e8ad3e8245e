"""Cleaner options from a file (keys of cleaners/settings.cfg) reach a crawl, `extract` and
`eval`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, gold_records, run_cli

DATEHINTS = Path(__file__).parent / "fixtures" / "datehints"
ROOT = Path(__file__).resolve().parent.parent


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cleaners.cfg"
    path.write_text(f"[cleaners]\n{text}\n", encoding="utf-8")
    return path


def test_a_crawl_reads_pages_with_the_cleaner_config(tmp_path):
    strict = config(tmp_path, "min_body_chars = 100000")  # no page has that much text
    run_cli("crawl", "--fixtures", str(DATEHINTS), "--cleaner-config", str(strict),
            "-s", "LOG_LEVEL=WARNING", data=tmp_path / "strict")
    run_cli("crawl", "--fixtures", str(DATEHINTS), "-s", "LOG_LEVEL=WARNING",
            data=tmp_path / "default")
    counts = []
    for data in (tmp_path / "strict", tmp_path / "default"):
        conn = sqlite3.connect(data / "index.db")
        counts.append(conn.execute("select count(*) from articles").fetchone()[0])
        conn.close()
    assert counts == [0, len(gold_records(DATEHINTS))]


def test_extract_reads_pages_with_the_cleaner_config(tmp_path):
    page = DATEHINTS / "sites" / "datehints" / "files" / "khai-bao.html"  # prints no date
    url = ["--url", "http://datehints.test/bai/khai-bao.html"]
    assert run_cli("extract", str(page), *url).stdout.strip() == "[\n null\n]"
    undated = config(tmp_path, "require_date = false")
    found = run_cli("extract", str(page), *url, "--cleaner-config", str(undated)).stdout
    assert '"title": "Thông báo lịch tiếp công dân của lãnh đạo xã"' in found


def test_eval_scores_with_the_cleaner_config(tmp_path):
    strict = config(tmp_path, "min_body_chars = 100000")  # articles without other signs lost
    args = ["eval", str(FIXTURES), "--json"]
    default = json.loads(run_cli(*args).stdout)["summary"][0]
    scored = json.loads(run_cli(*args, "--cleaner-config", str(strict)).stdout)["summary"][0]
    assert default["name"] == scored["name"] == "cleaners"
    assert default["title"] == len(gold_records(FIXTURES)) > scored["title"]
    assert scored["f1"] < default["f1"]


def test_a_bad_cleaner_config_is_one_clear_line(tmp_path):
    bad = config(tmp_path, "min_body_charz = 10")
    proc = run_cli("crawl", "--fixtures", str(DATEHINTS), "--cleaner-config", str(bad),
                   data=tmp_path / "data", check=False)
    assert proc.returncode == 2 and "unknown option(s) in [cleaners]: min_body_charz" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "data" / "index.db").exists()
    scrapy = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "portal", "-a", "url=http://datehints.test/",
         "-s", f"CLEANERS_CONFIG={tmp_path / 'missing.cfg'}", "-s", f"ARCHIVE_DATA_DIR={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert scrapy.returncode == 2 and "missing.cfg" in scrapy.stderr.splitlines()[-1]
    assert "Traceback" not in scrapy.stderr
