"""The URLs a sitemap (index files too), an RSS or an Atom feed lists, with the date each gives
(a sitemap's ``lastmod``, an item's ``pubDate``, an entry's ``published``): nothing to extract."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from scrapy.http import TextResponse
from scrapy.utils.sitemap import Sitemap

RSS_ITEMS = "//item"
ATOM_ENTRIES = "//*[local-name()='entry']"


@dataclass
class Feed:
    kind: str  # "sitemap" or "feed"
    entries: list[tuple[str, str | None]]  # (URL as written, stripped; its date or None)


def read_feed(response: TextResponse) -> Feed:
    try:
        sitemap = Sitemap(response.body)  # lxml without entity resolution: no XML bombs
        entries = [(entry["loc"].strip(), entry.get("lastmod"))
                   for entry in sitemap if entry.get("loc")]
    except Exception:  # noqa: BLE001 - not a sitemap: try it as a feed
        entries = []
    if entries:
        return Feed("sitemap", entries)
    try:
        entries = [(url.strip(), rss_date(item.xpath("pubDate/text()").get()))
                   for item in response.xpath(RSS_ITEMS)
                   for url in item.xpath("link/text()").getall()]
        entries += [
            (url.strip(), entry.xpath("*[local-name()='published' or local-name()='updated']"
                                      "/text()").get())
            for entry in response.xpath(ATOM_ENTRIES)
            for url in entry.xpath("*[local-name()='link']/@href").getall()]
    except ValueError:
        entries = []
    return Feed("feed", entries)


def rss_date(value: str | None) -> str | None:
    """An RSS ``pubDate`` (RFC 822) in ISO form; None when it does not parse."""
    try:
        return parsedate_to_datetime(value.strip()).isoformat() if value else None
    except (TypeError, ValueError):
        return None
