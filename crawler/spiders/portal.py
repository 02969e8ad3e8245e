"""The generic portal spider: follows a portal's own links, sitemaps and feeds, archives
everything it fetches, and hands article pages to the cleaners.

It needs no configuration but a base URL; it works the same on a CMS family nobody has seen.

    scrapy crawl portal -a portal=aluoi-tth            # a portal of the registry
    scrapy crawl portal -a url=https://example.gov.vn/  # any portal, ad hoc

Every URL is cleaned before it is requested (crawler/urls.py) and every link passes the trap
rules of ``follow``; each URL left out is counted in the stats as ``discovery/skipped/<reason>``.
A crawl that is not ``--full`` asks for known article pages only conditionally (when their last
capture had an ``ETag`` or ``Last-Modified``) or not at all: listings, feeds and sitemaps are
fetched again and reveal what is new.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.sitemap import Sitemap

import cleaners
from archive import index
from archive.warcfiles import http_headers_at
from crawler.extensions.session import ArchiveSession
from crawler.reading import PageReader
from crawler.registry import Portal, named_portal
from crawler.urls import ParameterOrder, clean_url, join_url

# Fetched and archived, never parsed for links: government documents are often what matters most.
DOCUMENT_EXTENSIONS = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".rtf",
                       ".ods", ".zip", ".rar"}
# Not fetched at all: page furniture.
SKIPPED_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".svg", ".webp", ".ico", ".css",
                      ".js", ".woff", ".woff2", ".ttf", ".eot", ".mp3", ".mp4", ".avi", ".flv",
                      ".swf", ".wmv"}
# A date in a URL marks calendar pages, which go on forever.
DATE_IN_URL = re.compile(r"(19|20)\d\d[-/_.]?(0[1-9]|1[0-2])[-/_.]?(0[1-9]|[12]\d|3[01])")
SEARCH_URL = re.compile(r"(tim-?kiem|search|timkiem)|[?&](q|keyword|tukhoa|kw|key)=", re.I)
PAGINATION_URL = re.compile(r"[?&/](p|page|trang|pageindex|pg|paged)[=/-]?\d+", re.I)
FEED_TYPES = ("rss", "atom", "xml")
# What an interrupted crawl hands to the run that resumes it (crawler/resume.py).
RESUMED_ATTRIBUTES = ("pages_requested", "shape_counts", "skipped_urls", "seen_links", "aliases",
                      "article_shapes", "page_links", "parameter_order", "first_crawl")


def url_shape(url: str) -> str:
    """The URL with every run of digits replaced, to count URLs of one kind."""
    return re.sub(r"\d+", "N", url)


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


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, portal: Portal | str | None = None, url: str | None = None,
                 province: str | None = None, district: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.portal = portal if isinstance(portal, Portal) else named_portal(
            portal, url, province=province, district=district)
        self.start_urls = list(self.portal.start_urls)
        self.shape_counts: Counter[str] = Counter()
        self.pages_requested = 0
        self.parameter_order = ParameterOrder()
        # canonical URL -> other URLs seen for it (tracking copies, other parameter orders)
        self.aliases: defaultdict[str, set[str]] = defaultdict(set)
        self.known: dict[str, dict[str, Any]] = {}  # stored article URL -> its last capture
        self.article_shapes: set[str] = set()  # URL shapes of the articles found
        self.page_links: dict[str, Counter[str]] = {}  # record id -> shapes it links to
        self.skipped_urls: set[str] = set()
        self.seen_links: dict[str, str | None] = {}  # link -> its clean URL (None: not ours)
        self.first_crawl = True  # no article of the portal stored yet: learn from every page
        self.reader: PageReader | None = None

    async def start(self) -> Any:
        session = self.crawler.get_extension(ArchiveSession)
        if session is None:
            raise RuntimeError("the portal spider needs the ArchiveSession extension (EXTENSIONS)")
        self.session = session
        session.on_close(self.finish)
        settings = self.settings
        stored = index.load_template(session.db, self.portal.host)
        # As the last crawl left it: the home page is checked against it
        # (crawler/extensions/recorder.py).
        self.template = cleaners.HostTemplate.from_json(stored) if stored else None
        self.reader = PageReader(self.portal.id, stored,
                                 in_process=not settings.getbool("PORTAL_READING_PROCESS"))
        self.max_pages = settings.getint("PORTAL_MAX_PAGES")
        self.date_url_limit = settings.getint("PORTAL_DATE_URL_LIMIT")
        self.shape_limit = settings.getint("PORTAL_URL_SHAPE_LIMIT")
        self.max_url_length = settings.getint("PORTAL_MAX_URL_LENGTH")
        self.max_parameters = settings.getint("PORTAL_MAX_QUERY_PARAMETERS")
        self.attachment_max_size = settings.getint("PORTAL_ATTACHMENT_MAX_SIZE")
        self.full = settings.getbool("OPS_FULL_CRAWL")
        self.warc_dir = session.warc.directory
        if not self.full:
            self.known = known_articles(session.db, self.portal.id)
        self.first_crawl = not self.known
        state = getattr(self, "state", None)  # Scrapy's, kept in JOBDIR by an interrupted run
        resumed = session.keeps_job and bool(state)
        if resumed:
            for name in RESUMED_ATTRIBUTES:
                setattr(self, name, state[name])
            self.crawler.stats.set_value("crawl/resumed", 1)
        self.home_urls = {clean_url(u): None for u in self.start_urls}  # ordered set
        for url in self.home_urls:
            # A resumed crawl has seen its home page, but asks again: it tells whether the
            # portal is up (archive/health.py), and the links it finds are filtered as seen.
            yield scrapy.Request(url, callback=self.parse, dont_filter=resumed)
        if settings.getbool("PORTAL_SITEMAPS"):
            robots = urljoin(self.portal.base_url, "/robots.txt")
            yield scrapy.Request(robots, callback=self.parse_robots, dont_filter=True,
                                 meta={"handle_httpstatus_all": True})

    def finish(self, reason: str) -> None:
        """Archive what the crawl learned; the session calls it before it closes."""
        session = self.session
        state = getattr(self, "state", None)  # set by Scrapy when the spider opened
        if session.keeps_job and reason == "shutdown" and state is not None:
            # Interrupted: the run that resumes the crawl classifies these pages at its end.
            state.update({name: getattr(self, name) for name in RESUMED_ATTRIBUTES})
        else:
            self.classify_pages(session)
        if self.reader is not None:
            template = self.reader.close()
            if template is not None:
                index.save_template(session.db, self.portal.host, template)
        session.flush()
        alternates = late_aliases(session.db, self.portal.id, self.aliases)
        if alternates:
            # In the WARC too, so that a reindex finds them (archive/reindex.py).
            session.warc.metadata(f"urn:portal-archive:run:{session.run_id}:alternate-urls",
                                  {"alternate_urls": alternates}, refers_to=None,
                                  record_type="metadata")
        with session.db.conn:
            index.add_alternate_urls(session.db, alternates)

    def classify_pages(self, session: ArchiveSession) -> None:
        """Pages linking several URLs shaped like this crawl's articles are listings."""
        for record_id, shapes in self.page_links.items():
            teasers = sum(n for shape, n in shapes.items() if shape in self.article_shapes)
            if teasers >= self.settings.getint("PORTAL_LISTING_MIN_TEASERS"):
                session.set_page_type(record_id, "listing")
        self.page_links.clear()

    # -- following links -------------------------------------------------------------------

    def skip(self, reason: str, url: str) -> None:
        """Count ``url`` as left out for ``reason``, once however often it is linked."""
        if url not in self.skipped_urls:
            self.skipped_urls.add(url)
            self.crawler.stats.inc_value(f"discovery/skipped/{reason}")

    def follow(self, url: str, *, attachment: bool = False) -> scrapy.Request | None:
        """A request for ``url`` if it belongs to the portal and is worth fetching."""
        raw = url.split("#", 1)[0]
        if raw in self.seen_links and not attachment:
            # Followed or refused before (menus repeat every link on every page): only the
            # count of its parameter order changes.
            seen = self.seen_links[raw]
            if seen is not None:
                self.parameter_order.see(seen)
            return None
        url = clean_url(raw)
        ext = extension(url)
        if not self.portal.in_scope(url) and not (attachment and ext in DOCUMENT_EXTENSIONS):
            self.seen_links[raw] = None
            return None
        if ext in SKIPPED_EXTENSIONS:
            self.seen_links[raw] = None
            return None
        self.seen_links[raw] = url
        self.parameter_order.see(url)
        if raw != url:
            self.aliases[url].add(raw)
        if len(url) > self.max_url_length:
            self.skip("long_url", url)
            return None
        parts = urlsplit(url)
        if len(parts.query.split("&")) > self.max_parameters:
            self.skip("too_many_parameters", url)
            return None
        shape = url_shape(url)
        if DATE_IN_URL.search(parts.query + parts.path):
            if self.shape_counts["date:" + shape] >= self.date_url_limit:
                self.skip("calendar", url)
                return None
            self.shape_counts["date:" + shape] += 1
        if self.shape_counts[shape] >= self.shape_limit:
            self.skip("url_shape_limit", url)
            return None
        self.shape_counts[shape] += 1
        headers: dict[str, str] = {}
        if url in self.known:
            known = self.known[url]
            if "validators" not in known:  # listings link an article many times: read once
                known["validators"] = validators(self.warc_dir, known)
            headers = known["validators"]
            if not headers:
                self.skip("known_article", url)
                return None
        if self.pages_requested >= self.max_pages:
            self.skip("max_pages", url)
            return None
        self.pages_requested += 1
        if ext in DOCUMENT_EXTENSIONS:
            return scrapy.Request(url, callback=self.parse_document,
                                  meta={"download_maxsize": self.attachment_max_size})
        return scrapy.Request(url, callback=self.parse, headers=headers,
                              meta={"handle_httpstatus_list": [304]} if headers else {})

    # -- callbacks -------------------------------------------------------------------------

    async def parse(self, response: Response) -> AsyncIterator[Any]:
        session = self.session
        record = response.meta.get("warc_record")
        if response.status == 304:
            self.crawler.stats.inc_value("crawl/pages/not_modified")
            if record:
                session.set_page_type(record.record_id, "article")
            return
        if not isinstance(response, TextResponse):
            if record:
                session.set_page_type(record.record_id, "document")
            return
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        if any(t in content_type.lower() for t in FEED_TYPES) or response.body.lstrip()[:5] in (
                b"<?xml", b"<rss ", b"<urls", b"<feed"):
            for request in self.parse_feed(response):
                yield request
            return
        # A first (or --full) crawl teaches the template every page, a fair sample of the site.
        # A recrawl fetches listings again but few articles: it teaches only its new articles,
        # or the template would drift towards listings with every run.
        assert self.reader is not None
        reading = await self.reader.read(response.body, response.url, content_type,
                                         "all" if self.first_crawl else "articles")
        if reading is None:  # empty, binary or not HTML at all: nothing to follow or extract
            if record:
                session.set_page_type(record.record_id, self.page_type(response.url, []))
            return
        links = [join_url(response.url, h) for h in reading.hrefs + reading.alternates
                 if h and not h.startswith(("javascript:", "mailto:", "tel:", "#"))]
        for url in links:
            request = self.follow(url)
            if request is not None:
                yield request
        article = reading.article
        if record:
            page_type = "article" if article else self.page_type(response.url, links)
            session.set_page_type(record.record_id, page_type)
            if page_type == "page":
                self.page_links[record.record_id] = Counter(
                    link_shape(clean_url(u)) for u in set(links))
        if article is None:
            return
        fetched = clean_url(response.url)
        self.article_shapes.add(link_shape(fetched))
        for attachment in article.attachments:
            request = self.follow(attachment["url"], attachment=True)
            if request is not None:
                yield request
        canonical = reading.canonical
        canonical = clean_url(urljoin(response.url, canonical)) if canonical else None
        url = (canonical if canonical and self.portal.in_scope(canonical)
               else self.parameter_order.canonical(fetched))
        if url != fetched:
            self.aliases[url].add(response.url)
        yield {
            "portal": self.portal.id,
            "url": url,
            "fetched_url": response.url,
            "article": article,
            "warc_record": record,
            "warc_date": response.meta.get("warc_date"),
            "search_columns": reading.search_columns,
        }

    def page_type(self, url: str, links: list[str]) -> str:
        """What a page that holds no article is, from its URL and its links (absolute)."""
        if clean_url(url) in self.home_urls:
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
        # Listing or static page is decided at the end (``classify_pages``), once the crawl
        # knows what its article URLs look like.
        return "page"

    def parse_feed(self, response: TextResponse) -> Iterator[scrapy.Request]:
        """Sitemaps (index files too), RSS and Atom feeds: their URLs, nothing to extract."""
        record = response.meta.get("warc_record")
        urls: list[str] = []
        kind = "feed"
        try:
            sitemap = Sitemap(response.body)  # lxml without entity resolution: no XML bombs
            urls = [entry["loc"] for entry in sitemap if entry.get("loc")]
            kind = "sitemap"
        except Exception:  # noqa: BLE001 - not a sitemap: try it as a feed
            pass
        if not urls:
            try:
                urls = (response.xpath("//item/link/text()").getall()
                        + response.xpath("//*[local-name()='entry']/*[local-name()='link']/@href")
                        .getall())
                kind = "feed"
            except ValueError:
                urls = []
        if record:
            self.session.set_page_type(record.record_id, kind)
        for url in urls:
            request = self.follow(urljoin(response.url, url.strip()))
            if request is not None:
                yield request

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        """The ``Sitemap:`` lines of robots.txt; ``/sitemap.xml`` when it names none."""
        record = response.meta.get("warc_record")
        if record:
            self.session.set_page_type(record.record_id, "robots")
        text = response.body.decode("utf-8", "replace") if response.status == 200 else ""
        sitemaps = [line.split(":", 1)[1].strip() for line in text.splitlines()
                    if line.lower().startswith("sitemap:")]
        for url in sitemaps or [urljoin(self.portal.base_url, "/sitemap.xml")]:
            request = self.follow(urljoin(response.url, url))
            if request is not None:
                yield request

    def parse_document(self, response: Response) -> None:
        record = response.meta.get("warc_record")
        if record:
            self.session.set_page_type(record.record_id, "document")


def known_articles(db: Any, portal: str) -> dict[str, dict[str, Any]]:
    """Stored article URLs of ``portal`` (canonical and alternate), each with the WARC pointer of
    its last full capture, if it has one."""
    known: dict[str, dict[str, Any]] = {}
    for row in db.query("select url, alternate_urls from articles where portal = ?", [portal]):
        known[row["url"]] = {}
        for alternate in json.loads(row["alternate_urls"] or "[]"):
            known.setdefault(clean_url(alternate), {})
    for row in db.query(
            "select url, warc_file, warc_offset from captures where portal = ? and "
            "record_type = 'response' and status = 200 order by time", [portal]):
        if row["url"] in known:
            known[row["url"]] = row
    return known


def validators(warc_dir: Path, capture: dict[str, Any]) -> dict[str, str]:
    """Conditional request headers from the ``ETag``/``Last-Modified`` a capture answered with."""
    headers = (http_headers_at(warc_dir, capture["warc_file"], capture["warc_offset"])
               if capture.get("warc_file") else None)
    if headers is None:
        return {}
    found = {"If-None-Match": headers.get_header("ETag"),
             "If-Modified-Since": headers.get_header("Last-Modified")}
    return {name: value.strip() for name, value in found.items() if value}


def late_aliases(db: Any, portal: str, aliases: dict[str, set[str]]) -> dict[str, list[str]]:
    """Of the other URLs seen for stored articles, those their ``alternate_urls`` lack."""
    found: dict[str, list[str]] = {}
    for url, others in aliases.items():
        row = next(db.query("select alternate_urls from articles where portal = ? and url = ?",
                            [portal, url]), None)
        if row is not None:
            new = others - set(json.loads(row["alternate_urls"] or "[]")) - {url}
            if new:
                found[url] = sorted(new)
    return found
