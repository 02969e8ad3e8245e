"""Which links a portal crawl follows: the portal's own pages, each under one clean URL, and
none of the endless ones a CMS generates (calendars, pagination without end, faceted search).

Every link is cleaned first (crawler/urls.py). A link is then left out when it leaves the
portal, is page furniture (images, scripts), is longer or has more query parameters than an
editor would write, or is one URL too many of its shape (digits aside; calendar-like URLs get
a much smaller allowance). An article's documents may also come from the portal's other
hosts and the ``document_hosts`` of its registry entry, over http(s) only. Each URL left out
is counted once, however often it is linked, under the reason the spider reports as
``discovery/skipped/<reason>``; a link that does not parse as a URL at all is refused as
``malformed_url``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from scrapy.settings import BaseSettings

from crawler.registry import Portal
from crawler.urls import ParameterOrder, clean_url, well_formed

# Fetched and archived, never parsed for links: government documents are often what matters most.
DOCUMENT_EXTENSIONS = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".rtf",
                       ".ods", ".zip", ".rar"}
# Not fetched at all: page furniture.
SKIPPED_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".svg", ".webp", ".ico", ".css",
                      ".js", ".woff", ".woff2", ".ttf", ".eot", ".mp3", ".mp4", ".avi", ".flv",
                      ".swf", ".wmv"}
# A date in a URL marks calendar pages, which go on forever.
DATE_IN_URL = re.compile(r"(19|20)\d\d[-/_.]?(0[1-9]|1[0-2])[-/_.]?(0[1-9]|[12]\d|3[01])")


def document_refusal(portal: Portal, url: str) -> str | None:
    """Why a document outside the portal's pages is not fetched: it must be served over
    http(s) by one of the portal's hosts or of the ``document_hosts`` its entry allows."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "unsupported_scheme"
    if parts.hostname not in portal.hosts | set(portal.document_hosts):
        return "off_site_document"
    return None


def url_shape(url: str) -> str:
    """The URL with every run of digits replaced, to count URLs of one kind."""
    return re.sub(r"\d+", "N", url)


def trap_shape(url: str) -> str:
    """What the shape limit counts URLs by: ``url_shape``, with every path segment and query
    value made of letters alone replaced too (``/tag/abc``, ``?q=xyz``: a CMS generates
    those without end as well as numbered ones)."""
    parts = urlsplit(url)
    path = "/".join("A" if s.isalpha() else s for s in parts.path.split("/"))
    query = "&".join(f"{name}{sep}{'A' if value.isalpha() else value}"
                     for name, sep, value in (p.partition("=") for p in parts.query.split("&")))
    return url_shape(f"{parts.netloc}{path}?{query}")


def repeated_segment(path: str) -> bool:
    """A folder three times in one path: relative links resolved against their own page
    (``/tin-tuc/tin-tuc/tin-tuc/``), an endless trap of letters alone."""
    segments = [s for s in path.split("/") if s]
    return any(n >= 3 for n in Counter(segments).values())


def link_shape(url: str) -> str:
    """Coarser than ``url_shape``: a slug last segment (``/Some-Title-123.html``) becomes
    ``SLUG``, and query values are dropped, so every article of a portal shares few shapes."""
    parts = urlsplit(url)
    folders, _, last = parts.path.rpartition("/")
    if re.search(r"[A-Za-z]", last) and "-" in last:
        last = "SLUG" + extension(url)
    names = "&".join(k for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return url_shape(f"{parts.hostname}{folders}/{last}?{names}")


def extension(url: str) -> str:
    path = urlsplit(url).path.lower()
    name = path.rsplit("/", 1)[-1]
    return name[name.rfind("."):] if "." in name else ""


@dataclass(frozen=True)
class Limits:
    """The bounds of one crawl of one portal (``PORTAL_*`` settings)."""

    max_pages: int
    date_url_limit: int
    shape_limit: int
    max_url_length: int
    max_parameters: int
    max_parameter_orders: int = 2  # orders of one set of query parameters requested

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Limits:
        return cls(max_pages=settings.getint("PORTAL_MAX_PAGES"),
                   date_url_limit=settings.getint("PORTAL_DATE_URL_LIMIT"),
                   shape_limit=settings.getint("PORTAL_URL_SHAPE_LIMIT"),
                   max_url_length=settings.getint("PORTAL_MAX_URL_LENGTH"),
                   max_parameters=settings.getint("PORTAL_MAX_QUERY_PARAMETERS"),
                   max_parameter_orders=settings.getint("PORTAL_MAX_PARAMETER_ORDERS", 2))


@dataclass
class LinkPolicy:
    """What a crawl has seen of a portal's links and what it still follows. Plain data: an
    interrupted crawl keeps it in Scrapy's spider state, and the run that resumes goes on."""

    portal: Portal
    limits: Limits
    pages_requested: int = 0
    shape_counts: Counter[str] = field(default_factory=Counter)
    skipped_urls: set[str] = field(default_factory=set)
    seen_links: dict[str, str | None] = field(default_factory=dict)  # link -> clean URL or None
    parameter_order: ParameterOrder = field(default_factory=ParameterOrder)
    # path and parameters (in no order) -> the URLs of them requested, in the orders written
    orders_requested: dict[tuple[str, frozenset[str]], list[str]] = field(default_factory=dict)
    # canonical URL -> other URLs seen for it (tracking copies, other parameter orders)
    aliases: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def skip(self, reason: str, url: str) -> str | None:
        """Leave ``url`` out for ``reason``; the reason to count, the first time only."""
        if url in self.skipped_urls:
            return None
        self.skipped_urls.add(url)
        return reason

    def admit(self, link: str, *, attachment: bool = False) -> tuple[str | None, str | None]:
        """``(clean URL, None)`` for a link worth requesting; ``(None, reason to count)`` or
        ``(None, None)`` (not the portal's, furniture, or seen before) for one that is not.
        An attachment may be a document on another host."""
        raw = link.split("#", 1)[0]
        if raw in self.seen_links and not attachment:
            # Followed or refused before (menus repeat every link on every page): only the
            # count of its parameter order changes.
            seen = self.seen_links[raw]
            if seen is not None:
                self.parameter_order.see(seen)
            return None, None
        url = clean_url(raw)
        if not well_formed(url):
            self.seen_links[raw] = None
            return None, self.skip("malformed_url", raw)
        ext = extension(url)
        if ext in SKIPPED_EXTENSIONS or not (
                self.portal.in_scope(url) or (attachment and ext in DOCUMENT_EXTENSIONS)):
            self.seen_links[raw] = None
            return None, None
        if not self.portal.in_scope(url):  # a document the article links to, elsewhere
            reason = document_refusal(self.portal, url)
            if reason:
                self.seen_links[raw] = None
                return None, self.skip(reason, raw)
        self.seen_links[raw] = url
        self.parameter_order.see(url)
        if raw != url:
            self.aliases[url].add(raw)
        reason = self.trap(url)
        if reason:
            return None, self.skip(reason, url)
        return url, None

    def trap(self, url: str) -> str | None:
        """Why ``url`` is generated rather than linked by an editor, or None. Nothing is
        counted here: only a request made uses up a limit (``take``)."""
        limits = self.limits
        if len(url) > limits.max_url_length:
            return "long_url"
        parts = urlsplit(url)
        if len(parts.query.split("&")) > limits.max_parameters:
            return "too_many_parameters"
        if repeated_segment(parts.path):
            return "repeated_path"
        if DATE_IN_URL.search(parts.query + parts.path) and \
                self.shape_counts["date:" + url_shape(url)] >= limits.date_url_limit:
            return "calendar"
        if self.shape_counts[trap_shape(url)] >= limits.shape_limit:
            return "url_shape_limit"
        orders = self.orders_requested.get(_parameter_set(url), [])
        if len(orders) >= limits.max_parameter_orders:
            # The same page linked with its parameters in yet another order: one more name
            # of a page already asked for, not n! requests.
            self.aliases[orders[0]].add(url)
            return "parameter_order"
        return None

    def take(self, url: str) -> bool:
        """Count a request for ``url`` against the limits (``PORTAL_MAX_PAGES``, its shape's,
        its parameters' orders); False, counting nothing, once ``PORTAL_MAX_PAGES`` is
        reached."""
        if self.pages_requested >= self.limits.max_pages:
            return False
        self.pages_requested += 1
        parts = urlsplit(url)
        if DATE_IN_URL.search(parts.query + parts.path):
            self.shape_counts["date:" + url_shape(url)] += 1
        self.shape_counts[trap_shape(url)] += 1
        if "&" in parts.query:
            self.orders_requested.setdefault(_parameter_set(url), []).append(url)
        return True


def _parameter_set(url: str) -> tuple[str, frozenset[str]]:
    parts = urlsplit(url)
    return parts.path, frozenset(p for p in parts.query.split("&") if p)
