"""Store each clean article twice: as a WARC ``conversion`` record that refers to its capture
(so the index can be rebuilt from WARC alone) and as a row of the SQLite index."""

from __future__ import annotations

import json
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive import index
from crawler.extensions.session import ArchiveSession


class ArticlePipeline:
    def __init__(self, crawler: Crawler, session: ArchiveSession) -> None:
        self.crawler = crawler
        self.session = session

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticlePipeline:
        session = crawler.get_extension(ArchiveSession)
        if session is None:
            raise NotConfigured("the ArchiveSession extension is off")
        return cls(crawler, session)

    def process_item(self, item: dict[str, Any], spider: Spider | None = None) -> dict[str, Any]:
        session = self.session
        row = article_row(item)
        payload = {**row, "fetched_url": item["fetched_url"], "body": item["article"].body}
        conversion = session.warc.metadata(
            item["url"], payload, refers_to=item["warc_record"].record_id
        )
        row["record_id"] = conversion.record_id
        session.flush()  # the capture rows this article points at go in first
        with session.db.conn:
            _, change = index.store_article(session.db, row, captured=item["warc_date"],
                                            search_columns=item.get("search_columns"))
        session.counts[change] += 1
        self.crawler.stats.inc_value(f"archive/articles/{change}")
        return item


def article_row(item: dict[str, Any]) -> dict[str, Any]:
    """The index row of an article item (without the fields the index adds itself)."""
    article = item["article"]
    record = item["warc_record"]
    return {
        "url": item["url"],
        "portal": item["portal"],
        "title": article.title,
        "published": article.published,
        "date_source": article.date_source,
        "author": article.author,
        "category": article.category,
        "summary": article.summary,
        "text": article.text,
        "captions": json.dumps(article.captions, ensure_ascii=False),
        "attachments": json.dumps(article.attachments, ensure_ascii=False),
        "word_count": len(article.text.split()),
        "language": article.language,
        "digest": article.digest,
        "warc_file": record.warc_file,
        "warc_offset": record.offset,
        "warc_length": record.length,
        "payload_digest": record.payload_digest,
    }
