"""Dates a crawl sees before it reads a page (the date a listing prints next to the link, a feed
item's date, a sitemap's lastmod for a page that declares itself an article) date the pages
that print no full date themselves (tests/fixtures/datehints: each manifest entry says why)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from lxml import html

from crawler.reading import dated_links
from tests.conftest import gold_records, run_cli

DATEHINTS = Path(__file__).parent / "fixtures" / "datehints"
GOLD = gold_records(DATEHINTS)
NEAR_DAYS = 31  # a day resolved with the hint's year lies within a month of the hint


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> dict[str, tuple[str, str]]:
    data = tmp_path_factory.mktemp("datehints")
    run_cli("crawl", "--fixtures", str(DATEHINTS), "-s", "LOG_LEVEL=WARNING", data=data)
    conn = sqlite3.connect(data / "index.db")
    rows = conn.execute("select url, published, date_source from articles").fetchall()
    conn.close()
    return {url: (published, source) for url, published, source in rows}


@pytest.mark.parametrize("gold", GOLD, ids=[g["url"].rsplit("/", 1)[1] for g in GOLD])
def test_a_page_without_a_full_date_takes_it_from_the_listing_or_feed(stored, gold):
    assert stored.get(gold["url"]) == (gold["published"], gold["date_source"])


@pytest.mark.parametrize("gold", GOLD, ids=[g["url"].rsplit("/", 1)[1] for g in GOLD])
def test_a_day_resolved_with_a_hint_is_near_it(stored, gold):
    published = date.fromisoformat(stored[gold["url"]][0][:10])
    hint = date.fromisoformat(gold["hint"]["date"])
    assert abs((published - hint).days) <= NEAR_DAYS


def test_a_date_goes_to_the_links_of_its_teaser_not_to_a_menu():
    page = html.fromstring(
        "<html><body><div class=menu><a href=/a>A</a><a href=/b>B</a><a href=/c>C</a>"
        "<a href=/d>D</a> Thứ Hai, 05/01/2026</div><ul>"
        "<li><a href='/tin/1.html'>Tin một</a> (12/05/2020)</li>"
        "<li><a href='/tin/2.html'>Tin hai</a></li></ul>"
        "<div class=teaser><h3><a href='/tin/3.html'>Tin ba</a></h3><span>01/02/2024 10:00</span>"
        "<p>Tóm tắt</p><a href='/tin/3.html'>Xem tiếp</a></div>"
        "<script>var today = '01/01/2019';</script></body></html>")
    assert dated_links(page) == {"/tin/1.html": "2020-05-12", "/tin/3.html": "2024-02-01"}
