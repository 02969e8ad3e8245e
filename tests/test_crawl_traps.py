"""Traps cost a bounded, configured number of requests, and every URL left out is counted
under its reason in the run summary."""

import json
import sqlite3
from collections import Counter

from crawler.discovery import url_shape
from tests.conftest import FAST_CRAWL, FIXTURES, run_cli


def test_calendar_and_parameter_heavy_urls_are_cut_off_by_settings_and_counted(tmp_path):
    data = tmp_path / "data"
    proc = run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "aluoi-tth", "--json",
                   *FAST_CRAWL, "-s", "PORTAL_DATE_URL_LIMIT=1", "-s",
                   "PORTAL_MAX_QUERY_PARAMETERS=2",
                   data=data)
    [summary] = json.loads(proc.stdout)
    assert summary["skipped"]["calendar"] >= 1
    assert summary["skipped"]["too_many_parameters"] >= 1
    db = sqlite3.connect(data / "index.db")
    urls = [u for (u,) in db.execute("select url from captures")]
    assert urls
    assert len([u for u in urls if "ngay=" in u]) <= 1
    assert all(u.count("&") <= 1 for u in urls)


def test_the_shape_limit_counts_urls_not_the_links_to_them(tmp_path):
    """Menus link the same pages from every page: only distinct URLs use up the limit."""
    first = json.loads(run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "aluoi-tth",
                               "--json", *FAST_CRAWL, data=tmp_path / "a").stdout)[0]
    db = sqlite3.connect(tmp_path / "a" / "index.db")
    shapes = Counter(url_shape(u) for (u,) in db.execute("select distinct url from captures"))
    widest = max(shapes.values())
    again = json.loads(run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "aluoi-tth",
                               "--json", *FAST_CRAWL, "-s", f"PORTAL_URL_SHAPE_LIMIT={widest}",
                               data=tmp_path / "b").stdout)[0]
    assert "url_shape_limit" not in again["skipped"]
    assert again["new"] == first["new"]
