"""Store one clean article twice: as a WARC ``conversion`` record that refers to the capture it
came from (so the index can be rebuilt from WARC alone), filed under
``urn:portal-archive:article:<url>`` (``archive.warc.ARTICLE_URN``), and as a row of the index.

The crawl's pipeline and recovery from web archives both store articles through ``store``.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from archive import index
from archive.warc import RecordPointer, RotatingWarcWriter, article_urn
from cleaners import Article


def article_row(article: Article, *, url: str, portal: str, capture: RecordPointer,
                ) -> dict[str, Any]:
    """The index row of an article (without the fields the index adds itself)."""
    return {
        "url": url,
        "portal": portal,
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
        "extractor": article.extractor,
        "digest": article.digest,
        "warc_file": capture.warc_file,
        "warc_offset": capture.offset,
        "warc_length": capture.length,
        "payload_digest": capture.payload_digest,
    }


def store(warc: RotatingWarcWriter, db: sqlite_utils.Database, article: Article, *, url: str,
          fetched_url: str, portal: str, capture: RecordPointer, captured: str,
          source: str = index.LIVE, search_columns: list[str] | None = None,
          ) -> tuple[str, str]:
    """Write the article's conversion record, then index it; return (article id, change) as
    ``index.store_article`` does. ``captured`` is when its capture was made, ``source`` where
    it came from (``live`` for the crawl)."""
    row = article_row(article, url=url, portal=portal, capture=capture)
    row.update(source=source, captured=captured)
    payload = {**row, "fetched_url": fetched_url, "body": article.body}
    row["record_id"] = warc.metadata(article_urn(url), payload,
                                     refers_to=capture.record_id).record_id
    warc.flush()  # WARC first: the index never points at bytes that are not on disk
    with db.conn:
        return index.store_article(db, row, captured=captured, search_columns=search_columns)
