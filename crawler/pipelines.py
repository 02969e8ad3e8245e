"""Store each clean article the crawl extracts, as every capture's article is stored
(``archive.articles.store``: a WARC conversion record, then the index row)."""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler

from archive import articles
from archive.diskerrors import WRITE_ERRORS
from crawler.extensions import required_extension
from crawler.extensions.session import ArchiveSession


class ArticlePipeline:
    def __init__(self, crawler: Crawler, session: ArchiveSession) -> None:
        self.crawler = crawler
        self.session = session

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticlePipeline:
        return cls(crawler, required_extension(crawler, ArchiveSession))

    def process_item(self, item: dict[str, Any], spider: Spider | None = None) -> dict[str, Any]:
        session = self.session
        if session.failure is not None:  # the archive cannot be written: the crawl is stopping
            return item
        try:
            session.flush()  # the capture rows this article points at go in first
            _, change = articles.store(
                session.warc, session.db, item["article"], url=item["url"],
                fetched_url=item["fetched_url"], portal=item["portal"],
                capture=item["warc_record"], captured=item["warc_date"],
                search_columns=item.get("search_columns"))
        except WRITE_ERRORS as e:
            session.write_failed(e)
            return item
        session.counts[change] += 1
        self.crawler.stats.inc_value(f"archive/articles/{change}")
        return item
