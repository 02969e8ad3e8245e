"""Dates a crawl sees for a URL before it reads the page: the date a listing prints next to the
link, a feed item's date, a sitemap's ``lastmod``. The page gets the best one as the
``date_hint`` of ``cleaners.extract``, which uses it only where the page itself prints no full
date (the year of a yearless "Chiều 12/12", or a page with no date at all). A hint seen after
the page was read (a listing parsed later than the sitemap that led to the page) is too late.

A sitemap's lastmod is passed too: the cleaners take its year, or its date, only for a page
that declares itself an article (og:type or JSON-LD), because sitemaps list static pages and
listings as well; a listing served at an article URL must still read as a listing
(tests/test_alarms.py).
"""

from __future__ import annotations

# A date printed next to the link (or a feed item's) is the publication date; a sitemap's
# lastmod is only the last change.
PRIORITY = {"sitemap": 1, "listing": 2}
PASSED_SOURCES = {"listing", "sitemap"}


class DateHints:
    def __init__(self) -> None:
        self.hints: dict[str, tuple[str, str]] = {}  # clean URL -> (date, source)

    def see(self, url: str, date: str | None, source: str) -> None:
        if not date:
            return
        known = self.hints.get(url)
        if known is None or PRIORITY[source] > PRIORITY[known[1]]:
            self.hints[url] = (date.strip(), source)

    def hint(self, url: str) -> tuple[str, str] | None:
        """The date hint to read ``url`` with, if any."""
        found = self.hints.get(url)
        return found if found and found[1] in PASSED_SOURCES else None
