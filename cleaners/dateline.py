"""Stage 3b: when the article was published, and where that was read (``date_source``).

Machine dates first (meta, JSON-LD ``datePublished``), unless the visible dateline of the same
day also prints the time; then the dateline between headline and text, or one closing the
article; then a yearless "Chiều 12/12" completed from the URL, a modified date or the crawl's
hint; then the URL; then the hint itself. The header clock and teaser dates sit outside these
spans and are never read.
"""

from __future__ import annotations

import re

from . import chrome, dates
from .blocks import Block
from .container import Container
from .dates import DateHint
from .headline import is_date_line
from .normalize import norm
from .page import Page
from .template import HostTemplate

# The header clock ("Hôm nay: Thứ bảy, ngày 23/11/2026") prints the day of the crawl.
_CLOCK = re.compile(r"^(?:hôm nay|today|bây giờ)\b", re.I)
META_DATE_KEYS = ("article:published_time", "datepublished", "pubdate", "publishdate",
                  "dc.date.issued", "dcterms.issued", "og:published_time", "date",
                  "publish-date", "article.published", "dc.date.created", "sailthru.date")

Found = tuple[str | None, str | None, str | None]  # (ISO date, source, raw text)


def _visible(region: list[Block], template: HostTemplate | None) -> tuple[str | None, str | None]:
    for b in region:
        if b.row or b.link_chars > 0.5 * len(b.text or "x"):
            continue  # a table row's date belongs to its row (a document, a teaser)
        if template is not None and template.is_chrome(b.text):
            continue  # the header clock: same line on every page of the crawl
        if _CLOCK.match(b.text):
            continue
        t = b.el.find(".//time[@datetime]")
        v = dates.parse_iso(t.get("datetime", "")) if t is not None else None
        if v:
            return v, t.get("datetime")
        v = dates.parse_text(b.text) if len(b.text) < 300 else None
        if v:
            return v, b.text
    return None, None


def _closing(after: list[Block], box: Container) -> tuple[str | None, str | None]:
    """A "Ngày đăng: 18/04/2024" line printed under the article, before any list of other
    articles (whose dates belong to them)."""
    for b in after:
        if b.links or chrome.is_chrome_line(b.text) or (
                b.chrome_el is not None and id(b.chrome_el) not in box.path):
            break
        if is_date_line(b.text):
            return dates.parse_text(b.text), b.text
    return None, None


def find(page: Page, box: Container, start: int, end: int, after: list[Block],
         template: HostTemplate | None, hint: DateHint | None) -> Found:
    """The publication date of the article whose headline ends at ``start`` and whose text
    begins at ``end``; ``after`` are the blocks of the text."""
    text_date, text_raw = _visible(page.blocks[start:end], template)
    found = _machine(page, text_date, text_raw)
    if found:
        return found
    if text_date:
        return text_date, "text", text_raw
    v, raw = _closing(after, box)
    if v:
        return v, "text", raw
    # A sitemap lists static pages and listings too, so its lastmod speaks only for a page that
    # declares itself an article; a listing's date was printed next to a link to this page.
    trusted = hint if hint is not None and (
        hint.source == "listing" or page.meta.declared_article) else None
    found = _yearless(page, start, end, trusted)
    if found:
        return found
    v = dates.from_url(page.url)
    if v:
        return v, "url", page.url
    if trusted is not None:
        return trusted.date, trusted.source, trusted.date
    return None, None, None


def _machine(page: Page, text_date: str | None, text_raw: str | None) -> Found | None:
    """The date of the page's metadata (meta tags, then JSON-LD ``datePublished``), or the
    visible dateline's when it is of the same day and also prints the time."""
    meta = page.meta
    candidates = [(meta.get(key), "meta") for key in META_DATE_KEYS]
    candidates.append((meta.ld.get("datePublished"), "json-ld"))
    for raw, source in candidates:
        v = dates.parse_iso(raw) if raw else None
        if v:
            if text_date and len(text_date) > len(v) and text_date[:10] == v:
                return text_date, "text", text_raw
            return v, source, raw
    return None


def _yearless(page: Page, start: int, end: int, trusted: DateHint | None) -> Found | None:
    """A yearless "Chiều 12/12" near the headline, its year from the URL, a modified date or
    the crawl's (trusted) hint."""
    meta = page.meta
    year = dates.year_of(dates.from_url(page.url)) or dates.year_of(
        dates.parse_iso(meta.get("article:modified_time") or meta.ld.get("dateModified")
                        or "")) or (dates.year_of(trusted.date) if trusted else None)
    if not year:
        return None
    for b in page.blocks[start:end + 3]:
        dm = dates.parse_day_month(b.text) if len(b.text) < 200 else None
        if dm:
            v = dates.fmt(year, dm[1], dm[0])
            if v:
                return v, "text", norm(b.text)
    return None
