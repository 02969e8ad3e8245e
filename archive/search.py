"""Full-text search over the index's articles."""

from __future__ import annotations

import re
from typing import Any

import sqlite_utils

WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """Any user text as a safe FTS5 query: each word quoted, all words required."""
    words = WORD.findall(text)
    return " ".join(f'"{w}"' for w in words)


def search(db: sqlite_utils.Database, text: str, *, limit: int = 20) -> list[dict[str, Any]]:
    query = fts_query(text)
    if not query:
        return []
    sql = """
        select articles.id, articles.url, articles.portal, articles.title, articles.published,
               articles.warc_file, articles.warc_offset, articles.warc_length,
               snippet(articles_fts, 2, '[', ']', '…', 12) as snippet
        from articles_fts join articles on articles.rowid = articles_fts.rowid
        where articles_fts match ?
        order by bm25(articles_fts, 10.0, 3.0, 1.0)
        limit ?
    """
    return list(db.query(sql, [query, limit]))
