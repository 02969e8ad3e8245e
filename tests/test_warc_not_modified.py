"""A 304 Not Modified is archived as a server-not-modified revisit, and keeps its article
unchanged, in the crawl and in a reindex alike."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace

from scrapy import Request
from scrapy.http import Response
from scrapy.settings import Settings

import cleaners
from archive.reindex import rebuild
from archive.warc import NOT_MODIFIED_PROFILE
from archive.warcfiles import read_record
from crawler.extensions.session import ArchiveSession
from crawler.middlewares.warc import WarcCaptureMiddleware
from crawler.pipelines import ArticlePipeline
from crawler.registry import Portal
from tests.conftest import FIXTURES

GOLD = json.loads((FIXTURES / "gold" / "aluoi-tth" / "al-01.json").read_text(encoding="utf-8"))
URL = GOLD["url"]
PAGE = (FIXTURES / GOLD["page"]["file"]).read_bytes()
HEADERS = {"Content-Type": "text/html; charset=windows-1258", "ETag": '"v1"'}


class Stats(dict):
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self[key] = self.get(key, start) + count

    def set_value(self, key: str, value: object) -> None:
        self[key] = value


def crawler(data: Path) -> SimpleNamespace:
    """What the archive components use of a Scrapy crawler, for one portal, with its archive
    session open."""
    settings = Settings()
    settings.setmodule("crawler.settings")
    settings.set("ARCHIVE_DATA_DIR", str(data))
    portal = Portal(id="aluoi-tth", base_url="http://aluoi-tth.test/")
    crawl = SimpleNamespace(settings=settings, stats=Stats(), spider=SimpleNamespace(portal=portal),
                            signals=SimpleNamespace(connect=lambda *a, **k: None))
    crawl.session = ArchiveSession(crawl, portal, data_dir=data,  # type: ignore[arg-type]
                                   max_size=settings.getint("ARCHIVE_WARC_MAX_SIZE"),
                                   operator=settings["ARCHIVE_OPERATOR"])
    crawl.session.open()
    return crawl


def fetch(crawl: SimpleNamespace, status: int, body: bytes, headers: dict) -> Request:
    request = Request(URL, headers={"If-None-Match": '"v1"'} if status == 304 else {})
    response = Response(URL, status=status, headers=headers, body=body, request=request)
    WarcCaptureMiddleware(crawl, crawl.session).process_response(request, response)
    return request


def article(db_path: Path) -> dict:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute("select * from articles").fetchone())
    conn.close()
    return row


def test_a_304_is_a_not_modified_revisit_and_its_article_stays_unchanged(tmp_path):
    first = crawler(tmp_path)
    request = fetch(first, 200, PAGE, HEADERS)
    ArticlePipeline(first, first.session).process_item({
        "url": URL, "fetched_url": URL, "portal": "aluoi-tth",
        "article": cleaners.extract(PAGE, URL, HEADERS),
        "warc_record": request.meta["warc_record"], "warc_date": request.meta["warc_date"],
    })
    first.session.close()
    stored = article(tmp_path / "index.db")

    second = crawler(tmp_path)
    request = fetch(second, 304, b"", {"ETag": '"v1"'})
    second.session.close()

    pointer = request.meta["warc_record"]
    revisit = read_record(tmp_path / "warc", pointer.warc_file, pointer.offset, pointer.length)
    headers = revisit.rec_headers
    assert revisit.rec_type == "revisit"
    assert headers.get_header("WARC-Profile") == NOT_MODIFIED_PROFILE
    assert headers.get_header("WARC-Refers-To-Target-URI") == URL
    assert headers.get_header("WARC-Payload-Digest") == stored["payload_digest"]
    assert revisit.http_headers.get_statuscode() == "304"

    after = article(tmp_path / "index.db")
    assert after["last_seen"] == request.meta["warc_date"] > stored["last_seen"]
    assert (after["version"], after["digest"], after["text"]) == (
        stored["version"], stored["digest"], stored["text"])
    assert second.stats["archive/articles/unchanged"] == 1

    # A reindex from WARC alone comes to the same article.
    rebuild(tmp_path)
    assert article(tmp_path / "index.db") == after
