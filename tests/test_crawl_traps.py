"""Traps cost a bounded, configured number of requests, and every URL left out is counted
under its reason in the run summary."""

import json
import sqlite3
from collections import Counter
from contextlib import closing
from types import SimpleNamespace

from crawler.discovery import Limits, LinkPolicy, trap_shape
from crawler.incremental import KnownArticles
from crawler.spiders.portal import PortalSpider
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
    with closing(sqlite3.connect(data / "index.db")) as db:
        urls = [u for (u,) in db.execute("select url from captures")]
    assert urls
    assert len([u for u in urls if "ngay=" in u]) <= 1
    assert all(u.count("&") <= 1 for u in urls)


def test_the_shape_limit_counts_urls_not_the_links_to_them(tmp_path):
    """Menus link the same pages from every page: only distinct URLs use up the limit."""
    first = json.loads(run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "aluoi-tth",
                               "--json", *FAST_CRAWL, data=tmp_path / "a").stdout)[0]
    with closing(sqlite3.connect(tmp_path / "a" / "index.db")) as db:
        shapes = Counter(trap_shape(u) for (u,) in
                         db.execute("select distinct url from captures"))
    widest = max(shapes.values())
    again = json.loads(run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "aluoi-tth",
                               "--json", *FAST_CRAWL, "-s", f"PORTAL_URL_SHAPE_LIMIT={widest}",
                               data=tmp_path / "b").stdout)[0]
    assert "url_shape_limit" not in again["skipped"]
    assert again["new"] == first["new"]


def policy(**limits: int) -> LinkPolicy:
    spider = PortalSpider(url="http://a.test/")
    return LinkPolicy(spider.portal, Limits(**{"max_pages": 1000, "date_url_limit": 5,
                                               "shape_limit": 1000, "max_url_length": 500,
                                               "max_parameters": 8, **limits}))


def test_links_to_stored_articles_do_not_use_up_the_shape_limit():
    spider = PortalSpider(url="http://a.test/")
    skipped: Counter[str] = Counter()
    stats = SimpleNamespace(inc_value=lambda key: skipped.update([key]))
    spider.crawler = SimpleNamespace(stats=stats)
    spider.links = policy(shape_limit=3)
    stored = [f"http://a.test/tin.aspx?id={n}" for n in range(10)]
    # Stored articles whose capture had no validators: not asked for again at all.
    spider.known = KnownArticles(None, {u: {"validators": {}} for u in stored})  # type: ignore[arg-type]
    assert [spider.follow(u) for u in stored] == [None] * len(stored)
    new = [f"http://a.test/tin.aspx?id={n}" for n in range(10, 14)]
    requested = [r.url for r in map(spider.follow, new) if r is not None]
    assert requested == new[:3]  # the limit counts the requests made, and only those
    assert skipped == {"discovery/skipped/known_article": 10,
                       "discovery/skipped/url_shape_limit": 1}


def test_a_page_linking_its_parameters_in_every_order_costs_two_requests():
    links = policy()
    orders = ["a=1&b=2&c=3", "a=1&c=3&b=2", "b=2&a=1&c=3", "b=2&c=3&a=1", "c=3&a=1&b=2",
              "c=3&b=2&a=1"]
    asked = []
    for query in orders:
        url, reason = links.admit(f"http://a.test/x.php?{query}")
        if url and links.take(url):
            asked.append(url)
    assert len(asked) == links.limits.max_parameter_orders == 2
    assert links.aliases[asked[0]] >= {f"http://a.test/x.php?{q}" for q in orders[2:]}


def test_letter_only_traps_fall_under_the_shape_limit():
    links = policy(shape_limit=5)
    words = ["an", "binh", "cau", "dong", "giang", "ha", "kim", "lam"]
    asked = [u for u in (f"http://a.test/tag/{w}" for w in words)
             if links.admit(u)[0] and links.take(u)]
    asked += [u for u in (f"http://a.test/tim?q={w}" for w in words)
              if links.admit(u)[0] and links.take(u)]
    assert len(asked) == 10  # five of each shape
    assert links.admit("http://a.test/tin-tuc/tin-tuc/tin-tuc/")[1] == "repeated_path"


def test_a_limit_that_stops_discovery_is_said(tmp_path):
    proc = run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "aluoi-tth", "--json",
                   *FAST_CRAWL, "-s", "PORTAL_URL_SHAPE_LIMIT=2", data=tmp_path / "data")
    [summary] = json.loads(proc.stdout)
    skipped = summary["skipped"]["url_shape_limit"]
    assert skipped > 0
    assert (f"warning: aluoi-tth: {skipped} URLs not requested: PORTAL_URL_SHAPE_LIMIT = 2 "
            "reached") in proc.stderr
