"""The index as the standard SQLite tools read it: Datasette's ``_search=`` and ``sqlite-utils
search`` on ``articles``, with no configuration."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from datasette.app import Datasette

from archive.index import open_index, store_article

SQLITE_UTILS = Path(sys.executable).parent / "sqlite-utils"


def tokens(text: str | None) -> list[str]:
    """Words as FTS5's ``unicode61 remove_diacritics 2`` sees them: no case, no marks, đ kept."""
    decomposed = unicodedata.normalize("NFD", (text or "").lower())
    return re.findall(r"\w+", "".join(c for c in decomposed if not unicodedata.combining(c)))


def holding(db_path: Path, phrase: str) -> set[str]:
    """URLs of the articles whose title, summary or text holds ``phrase``'s words in a row."""
    wanted = tokens(phrase)
    conn = sqlite3.connect(db_path)
    found = set()
    for url, *fields in conn.execute("select url, title, summary, text from articles"):
        for field in fields:
            words = tokens(field)
            if any(words[i:i + len(wanted)] == wanted for i in range(len(words))):
                found.add(url)
    conn.close()
    return found


def datasette_search(db_path: Path, query: str) -> tuple[int, list[dict]]:
    async def get() -> tuple[int, list[dict]]:
        response = await Datasette([str(db_path)]).client.get(
            f"/{db_path.stem}/articles.json", params={"_search": query, "_shape": "array",
                                                      "_size": "max", "_col": "url"})
        return response.status_code, response.json()
    return asyncio.run(get())


@pytest.mark.parametrize("query", ["nông thôn", "Nong Thon", "Covid-19", "qđ-ubnd"])
def test_datasette_search_works_out_of_the_box(crawled_archive, query):
    db_path = crawled_archive / "index.db"
    status, rows = datasette_search(db_path, query)
    assert status == 200
    # Datasette quotes each word (a hyphenated one as a phrase): words in any order, each
    # one whole.
    expected = set.intersection(*(holding(db_path, w) for w in query.split()))
    assert expected and {r["url"] for r in rows} == expected


def test_sqlite_utils_search_works_on_articles(crawled_archive):
    db_path = crawled_archive / "index.db"
    result = subprocess.run([str(SQLITE_UTILS), "search", str(db_path), "articles",
                             '"nông thôn mới"', "-c", "url", "--json-cols"],
                            capture_output=True, text=True, check=True)
    found = {row["url"] for row in json.loads(result.stdout)}
    assert found and found == holding(db_path, "nông thôn mới")


def test_the_tools_index_follows_changed_articles(tmp_path):
    db = open_index(tmp_path / "index.db")
    url = "http://p.test/tin/1.html"
    article = {"url": url, "portal": "p", "title": "Tin", "published": "2024-01-01",
               "text": "Công trình thủy lợi", "digest": "a", "warc_file": "a.warc.gz",
               "warc_offset": 0, "warc_length": 1}
    store_article(db, article, captured="2024-01-02T00:00:00Z")
    changed = {**article, "text": "Đường giao thông", "digest": "b"}
    store_article(db, changed, captured="2024-02-02T00:00:00Z")
    store_article(db, {**changed, "url": url + "?utm_source=x"},  # the same text elsewhere
                  captured="2024-03-02T00:00:00Z")
    db.close()
    assert datasette_search(tmp_path / "index.db", "thuy loi")[1] == []
    assert [r["url"] for r in datasette_search(tmp_path / "index.db", "giao thông")[1]] == [url]
