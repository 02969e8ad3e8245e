"""The index stores each article once, under the same URL whatever order the crawl met it in."""

from __future__ import annotations

import itertools
import json

import pytest

from archive.index import open_index, store_article

SIMPLE = "http://p.test/ChiTiet.aspx?nid=7"
WITH_CATEGORY = "http://p.test/ChiTiet.aspx?nid=7&cid=2"
WITH_TRACKING = "http://p.test/ChiTiet.aspx?cid=2&nid=7&utm_source=fb"


def article(url: str) -> dict:
    return {"url": url, "portal": "p", "title": "Hội nghị", "published": "2025-03-05",
            "text": "Nội dung bài viết.", "digest": "d1", "warc_file": "a.warc.gz",
            "warc_offset": 0, "warc_length": 10}


@pytest.mark.parametrize("order", list(itertools.permutations(
    [SIMPLE, WITH_CATEGORY, WITH_TRACKING])))
def test_same_article_at_several_urls_is_stored_once_under_the_simplest(tmp_path, order):
    with open_index(tmp_path / "index.db") as db:
        for url in order:
            store_article(db, article(url), captured="2025-03-06T00:00:00Z")
        rows = list(db["articles"].rows)
        versions = list(db["article_versions"].rows)
    assert [r["url"] for r in rows] == [SIMPLE]
    assert json.loads(rows[0]["alternate_urls"]) == sorted([WITH_CATEGORY, WITH_TRACKING])
    assert [v["article_id"] for v in versions] == [rows[0]["id"]]
