"""The URLs a sitemap (index files too), an RSS or an Atom feed lists; nothing to extract."""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.http import TextResponse
from scrapy.utils.sitemap import Sitemap


@dataclass
class Feed:
    kind: str  # "sitemap" or "feed"
    urls: list[str]  # as written, stripped


def read_feed(response: TextResponse) -> Feed:
    try:
        sitemap = Sitemap(response.body)  # lxml without entity resolution: no XML bombs
        urls = [entry["loc"] for entry in sitemap if entry.get("loc")]
    except Exception:  # noqa: BLE001 - not a sitemap: try it as a feed
        urls = []
    if urls:
        return Feed("sitemap", [url.strip() for url in urls])
    try:
        urls = (response.xpath("//item/link/text()").getall()
                + response.xpath("//*[local-name()='entry']/*[local-name()='link']/@href").getall())
    except ValueError:
        urls = []
    return Feed("feed", [url.strip() for url in urls])
