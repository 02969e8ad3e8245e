"""What each page the crawl archived is: home, article, listing, calendar, search, documents,
feed, sitemap, robots, document or plain page (the ``page_type`` of its capture).

Most pages are typed when they are read; whether a page without an article is a listing or a
static page is decided at the end of the crawl, once the crawl knows what its article URLs
look like (``PageTypes.listings``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.discovery import DATE_IN_URL, DOCUMENT_EXTENSIONS, extension, link_shape
from crawler.urls import clean_url

SEARCH_URL = re.compile(r"(tim-?kiem|search|timkiem)|[?&](q|keyword|tukhoa|kw|key)=", re.I)
PAGINATION_URL = re.compile(r"[?&/](p|page|trang|pageindex|pg|paged)[=/-]?\d+", re.I)
FEED_TYPES = ("rss", "atom", "xml")
FEED_STARTS = (b"<?xml", b"<rss ", b"<urls", b"<feed")


def is_feed(content_type: str, body: bytes) -> bool:
    """A sitemap, RSS or Atom document, by its Content-Type or its first bytes."""
    return any(t in content_type.lower() for t in FEED_TYPES) or body.lstrip()[:5] in FEED_STARTS


def page_type(url: str, links: list[str], home_urls: Iterable[str]) -> str:
    """What a page that holds no article is, from its URL and its links (absolute)."""
    if clean_url(url) in home_urls:
        return "home"
    if DATE_IN_URL.search(url):
        return "calendar"
    if SEARCH_URL.search(url):
        return "search"
    if sum(extension(u) in DOCUMENT_EXTENSIONS for u in links) >= 2:
        return "documents"
    path = urlsplit(url).path
    # A listing is paginated: it is a page n, or it links its own page 2.
    if PAGINATION_URL.search(url) or any(
            PAGINATION_URL.search(u) and urlsplit(u).path == path for u in links):
        return "listing"
    # Listing or static page is decided at the end (``PageTypes.listings``).
    return "page"


@dataclass
class PageTypes:
    """The shapes of the crawl's article URLs, and the shapes each untyped page links to. Plain
    data: an interrupted crawl keeps it, and the run that resumes decides at its end."""

    article_shapes: set[str] = field(default_factory=set)  # link shapes of the articles found
    page_links: dict[str, Counter[str]] = field(default_factory=dict)  # record id -> shapes

    def article(self, url: str) -> None:
        self.article_shapes.add(link_shape(url))

    def untyped(self, record_id: str, links: Iterable[str]) -> None:
        """A page typed ``page`` for now: remember the shapes it links to."""
        self.page_links[record_id] = Counter(link_shape(clean_url(u)) for u in set(links))

    def listings(self, min_teasers: int) -> list[str]:
        """Record ids of the pages linking ``min_teasers`` URLs shaped like the articles (the
        pages are forgotten: each is decided once)."""
        found = [record_id for record_id, shapes in self.page_links.items()
                 if sum(n for shape, n in shapes.items()
                        if shape in self.article_shapes) >= min_teasers]
        self.page_links.clear()
        return found
