"""Dates a crawl sees for a URL before it reads the page: a sitemap's ``lastmod``, a feed
item's date, the date a listing prints next to the link. The page gets the best one as the
``date_hint`` of ``cleaners.extract``, which uses it only where the page itself prints no full
date (the year of a yearless "Chiều 12/12", or a page with no date at all)."""

from __future__ import annotations

# A date printed next to the link (or a feed item's) is the publication date; a sitemap's
# lastmod is only the last change.
PRIORITY = {"sitemap": 1, "listing": 2}


class DateHints:
    def __init__(self) -> None:
        self.hints: dict[str, tuple[str, str]] = {}  # clean URL -> (date, source)

    def see(self, url: str, date: str | None, source: str) -> None:
        if not date:
            return
        known = self.hints.get(url)
        if known is None or PRIORITY[source] > PRIORITY[known[1]]:
            self.hints[url] = (date.strip(), source)

    def get(self, url: str) -> tuple[str, str] | None:
        return self.hints.get(url)
