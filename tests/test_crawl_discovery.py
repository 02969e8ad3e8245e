"""One crawl of every fixture portal (the session ``crawled_archive``) against the gold records
and the manifests: what was stored, under which URL, and what each capture was taken for."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.settings import PORTAL_DATE_URL_LIMIT
from tests.conftest import FIXTURES, gold_count, gold_records


def manifests() -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text(encoding="utf-8"))
            for p in (FIXTURES / "sites").glob("*/manifest.json")}


def page_types(manifest: dict) -> dict[str, str]:
    return {manifest["base_url"] + path: entry.get("page_type")
            for path, entry in manifest["urls"].items()}


@pytest.fixture(scope="module")
def db(crawled_archive: Path) -> Iterator[sqlite3.Connection]:
    # Immutable: no -wal/-shm files come and go while other tests copy the shared archive.
    conn = sqlite3.connect(f"file:{crawled_archive / 'index.db'}?immutable=1", uri=True)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def test_every_gold_article_is_stored_once_under_its_canonical_url(db):
    for gold in gold_records():
        rows = db.execute("select url, alternate_urls from articles where url = ? or "
                          "alternate_urls like ?", [gold["url"], f'%"{gold["url"]}"%']).fetchall()
        assert [r["url"] for r in rows] == [gold["url"]]
        assert set(gold["alternate_urls"]) <= set(json.loads(rows[0]["alternate_urls"]))


def test_no_other_page_is_stored_as_an_article(db):
    gold_urls = {g["url"] for g in gold_records()}
    stored = {r["url"] for r in db.execute("select url from articles")}
    assert stored == gold_urls


def test_pages_are_recorded_with_their_type(db):
    expected = {"listing": "listing", "day-archive": "calendar", "article": "article",
                "document": "document", "documents": "documents", "sitemap": "sitemap",
                "rss": "feed", "home": "home"}
    for manifest in manifests().values():
        types = page_types(manifest)
        captures = db.execute("select url, page_type from captures where portal = ? and "
                              "status = 200", [manifest["portal_id"]]).fetchall()
        assert captures
        for capture in captures:
            truth = types.get(capture["url"])
            if truth in ("day-archive",) or re.search(r"ngay=\d", capture["url"]):
                assert capture["page_type"] == "calendar", capture["url"]
            elif truth in expected:
                assert capture["page_type"] == expected[truth], capture["url"]
            elif truth in ("static-contact", "static-org"):
                assert capture["page_type"] != "article", capture["url"]


def test_every_attachment_of_an_article_is_archived_and_linked(db):
    attachments = [(g["url"], a) for g in gold_records() for a in g["attachments"]]
    assert attachments
    for article_url, attachment in attachments:
        row = db.execute(
            "select c.status, c.warc_file from attachments t join articles a "
            "on a.id = t.article_id join captures c on c.url = t.url "
            "where a.url = ? and t.url = ? and c.record_type = 'response'",
            [article_url, attachment["url"]]).fetchone()
        assert row is not None and row["status"] == 200 and row["warc_file"], attachment


def test_robots_txt_disallowed_urls_are_never_requested(db):
    urls = [r["url"] for r in db.execute("select url from captures where portal = 'baonghean'")]
    assert urls
    assert not [u for u in urls if "/tim-kiem/" in u or "/admin/" in u or "?utm_" in u]


def test_the_calendar_trap_costs_a_bounded_number_of_requests(db):
    trap = db.execute("select count(*) from captures where url like '%ngay=%'").fetchone()[0]
    assert 0 < trap <= PORTAL_DATE_URL_LIMIT


def test_the_learned_host_template_is_kept_in_the_index(db):
    for manifest in manifests().values():
        host = manifest["base_url"].split("//", 1)[1]
        row = db.execute("select data from templates where host = ?", [host]).fetchone()
        assert row is not None, host
        # Every article page of the crawl taught it, and nothing else (listings tease the
        # newest headlines).
        read = db.execute("select count(*) from captures where portal = ? and page_type = "
                          "'article' and status = 200", [manifest["portal_id"]]).fetchone()[0]
        assert json.loads(row["data"])["pages"] == read >= gold_count(manifest["portal_id"])
