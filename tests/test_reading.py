"""The crawl reads pages in whatever order they come back: no article may depend on it."""

from __future__ import annotations

import asyncio
import unicodedata
from pathlib import Path

import pytest

from crawler.reading import PageReader, Reading
from tests.conftest import FIXTURES, gold_records

GOLD = gold_records()
ARTICLE_PAGES = {FIXTURES / g["page"]["file"] for g in GOLD}


def teasing_pages(record: dict) -> list[Path]:
    """The portal's other pages that print the article's headline: its home page, listings."""
    site = FIXTURES / "sites" / record["portal"] / "files"
    return sorted(p for p in site.rglob("*.html") if p not in ARTICLE_PAGES and record["title"]
                  in unicodedata.normalize("NFC", p.read_bytes().decode("utf-8", "replace")))


async def read_last(portal: str, before: list[Path], page: Path, url: str) -> Reading | None:
    """Read ``before``, then ``page``, as the crawl reads them."""
    reader = PageReader(portal, None, in_process=True)
    for other in before:
        await reader.read(other.read_bytes(), f"http://{portal}.test/{other.name}",
                          "text/html")
    return await reader.read(page.read_bytes(), url, "text/html")


@pytest.mark.parametrize("record", GOLD, ids=[g["id"] for g in GOLD])
def test_an_article_read_after_the_pages_that_tease_it_is_still_found(record):
    # The newest articles' headlines and leads are on the home page and their listing: if the
    # article's own lines counted as seen on other pages, they passed for chrome.
    teasers = teasing_pages(record)
    reading = asyncio.run(read_last(record["portal"], teasers,
                                    FIXTURES / record["page"]["file"], record["url"]))
    assert reading is not None and reading.article is not None, [p.name for p in teasers]
    assert reading.article.title == record["title"]


@pytest.mark.parametrize("record", GOLD, ids=[g["id"] for g in GOLD])
def test_an_article_read_after_every_other_article_is_still_found(record):
    # "Tin mới" / "Tin khác" boxes on every article page print the newest headlines: the last
    # article read has its own headline on every page the template learned.
    others = [FIXTURES / g["page"]["file"] for g in GOLD
              if g["portal"] == record["portal"] and g["id"] != record["id"]]
    reading = asyncio.run(read_last(record["portal"], others,
                                    FIXTURES / record["page"]["file"], record["url"]))
    assert reading is not None and reading.article is not None
    assert reading.article.title == record["title"]
