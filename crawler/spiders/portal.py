"""The generic portal spider: follows a portal's own links, sitemaps and feeds, archives
everything it fetches, and hands article pages to the cleaners.

It needs no configuration but a base URL; it works the same on a CMS family nobody has seen.

    scrapy crawl portal -a portal=aluoi-tth            # a portal of the registry
    scrapy crawl portal -a url=https://example.gov.vn/  # any portal, ad hoc

What it follows is the link policy's business (crawler/discovery.py), what a recrawl need not
fetch again the archive's (crawler/incremental.py), what each page is crawler/pagetypes.py's;
the spider asks the archive session (crawler/extensions/session.py) for everything stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.python.failure import Failure

import cleaners
from archive.runs import FORCED
from crawler import resume
from crawler.datehints import DateHints
from crawler.discovery import DOCUMENT_EXTENSIONS, Limits, LinkPolicy, extension
from crawler.extensions.session import ArchiveSession
from crawler.extensions.stopping import Abandoned, Stopping
from crawler.feeds import read_feed
from crawler.incremental import KnownArticles
from crawler.pagetypes import PageTypes, is_feed, page_type
from crawler.reading import PageReader, PageTimeout, Reading
from crawler.registry import Portal, named_portal
from crawler.urls import clean_url, join_url

NOT_LINKS = ("javascript:", "mailto:", "tel:", "#")


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, portal: Portal | str | None = None, url: str | None = None,
                 province: str | None = None, district: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.portal = portal if isinstance(portal, Portal) else named_portal(
            portal, url, province=province, district=district)
        self.start_urls = list(self.portal.start_urls)
        self.template: cleaners.HostTemplate | None = None  # as the last crawl left it

    async def start(self) -> AsyncIterator[Any]:
        session = self.crawler.get_extension(ArchiveSession)
        if session is None:
            raise RuntimeError("the portal spider needs the ArchiveSession extension (EXTENSIONS)")
        self.session = session
        session.on_close(self.finish)
        settings = self.settings
        stored = session.stored_template()
        # The home page is checked against it (crawler/extensions/recorder.py).
        self.template = cleaners.HostTemplate.from_json(stored) if stored else None
        self.reader = PageReader(self.portal.id, stored,
                                 in_process=not settings.getbool("PORTAL_READING_PROCESS"),
                                 cleaners_config=settings.get("CLEANERS_CONFIG"),
                                 timeout=settings.getfloat("PORTAL_PARSE_TIMEOUT"))
        self.stopping = self.crawler.get_extension(Stopping)
        if self.stopping is not None:
            self.stopping.on_stop(self.reader.abandon)
        self.attachment_max_size = settings.getint("PORTAL_ATTACHMENT_MAX_SIZE")
        full = settings.getbool("OPS_FULL_CRAWL")
        self.known = KnownArticles(session, {}) if full else KnownArticles.load(session)
        self.links = LinkPolicy(self.portal, Limits.from_settings(settings))
        self.pages = PageTypes()
        self.date_hints = DateHints()
        resumed = self.keep_state()
        self.home_urls = {clean_url(u): None for u in self.start_urls}  # ordered set
        for url in self.home_urls:
            # A resumed crawl has seen its home page, but asks again: it tells whether the
            # portal is up (archive/health.py), and the links it finds are filtered as seen.
            yield scrapy.Request(url, callback=self.parse, errback=self.home_failed,
                                 dont_filter=resumed)
        # Documents of stored articles still missing (a download failed, a crawl was killed
        # before it): their articles are not fetched again, so their links are not seen again.
        for url in self.known.wanted_documents():
            request = self.follow(url, attachment=True)
            if request is not None:
                self.crawler.stats.inc_value("crawl/documents/wanted")
                yield request
        if settings.getbool("PORTAL_SITEMAPS"):
            robots = urljoin(self.portal.base_url, "/robots.txt")
            yield scrapy.Request(robots, callback=self.parse_robots, dont_filter=True,
                                 meta={"handle_httpstatus_all": True})

    def keep_state(self) -> bool:
        """Put what the crawl learns in Scrapy's spider state, which an interrupted crawl keeps
        in its job directory; take it back from there when resuming. True when resuming."""
        state = getattr(self, "state", None)  # set by Scrapy's SpiderState when JOBDIR is set
        if not self.session.keeps_job or state is None:
            return False
        resumed = all(name in state for name in ("links", "pages"))
        if resumed:
            # This run's portal entry and limits, the interrupted run's findings.
            self.links = replace(state["links"], portal=self.portal, limits=self.links.limits)
            self.pages = state["pages"]
            self.crawler.stats.set_value("crawl/resumed", 1)
        # The objects themselves: the state is current whenever Scrapy writes it.
        state.update(links=self.links, pages=self.pages)
        return resumed

    def home_failed(self, failure: Failure) -> None:
        """A home page that robots.txt forbids is no portal down: the run says so (the run
        recorder reads this stat), and no liveness alarm is raised."""
        if failure.check(IgnoreRequest) and "robots.txt" in str(failure.value):
            self.crawler.stats.set_value("crawl/home_forbidden_by_robots", 1)

    def finish(self, reason: str) -> None:
        """Archive what the crawl learned; the session calls it before it closes."""
        session = self.session
        if reason == FORCED:  # no time to wait for the reading process
            self.reader.kill()
            return
        if not (session.keeps_job and resume.kept(reason)):
            # An interrupted crawl's pages are typed by the run that resumes it, at its end.
            for record_id in self.pages.listings(
                    self.settings.getint("PORTAL_LISTING_MIN_TEASERS")):
                session.set_page_type(record_id, "listing")
        template = self.reader.close()
        if template is not None:
            session.save_template(template)
        self.known.keep_aliases(self.links.aliases)

    # -- following links -------------------------------------------------------------------

    def follow(self, link: str, *, attachment: bool = False) -> scrapy.Request | None:
        """A request for ``link`` if it belongs to the portal and is worth fetching."""
        url, skipped = self.links.admit(link, attachment=attachment)
        headers = self.known.validators(url) if url else None
        if url and headers == {}:
            url, skipped = None, self.links.skip("known_article", url)
        if url and not self.links.take(url):
            url, skipped = None, self.links.skip("max_pages", url)
        if skipped:
            self.crawler.stats.inc_value(f"discovery/skipped/{skipped}")
        if url is None:
            return None
        if extension(url) in DOCUMENT_EXTENSIONS:
            return scrapy.Request(url, callback=self.parse_document,
                                  meta={"download_maxsize": self.attachment_max_size,
                                        "portal_document": True})
        return scrapy.Request(url, callback=self.parse, headers=headers,
                              meta={"handle_httpstatus_list": [304]} if headers else {})

    def follow_all(self, links: list[str], **kwargs: Any) -> Iterator[scrapy.Request]:
        for link in links:
            request = self.follow(link, **kwargs)
            if request is not None:
                yield request

    def set_page_type(self, response: Response, kind: str) -> None:
        record = response.meta.get("warc_record")
        if record:
            self.session.set_page_type(record.record_id, kind)

    # -- callbacks -------------------------------------------------------------------------

    async def parse(self, response: Response) -> AsyncIterator[Any]:
        if response.status == 304:
            self.crawler.stats.inc_value("crawl/pages/not_modified")
            self.set_page_type(response, "article")
            return
        if not isinstance(response, TextResponse):
            self.set_page_type(response, "document")
            return
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        if is_feed(content_type, response.body):
            for request in self.parse_feed(response):
                yield request
            return
        reading = await self.read(response, content_type)
        if reading is None:  # empty, binary or not HTML at all: nothing to follow or extract
            self.set_page_type(response, page_type(response.url, [], self.home_urls))
            return
        links = self.links_of(response, reading)
        for request in self.follow_all(links):
            yield request
        kind = "article" if reading.article else page_type(response.url, links, self.home_urls)
        self.set_page_type(response, kind)
        record = response.meta.get("warc_record")
        if kind == "page" and record:
            self.pages.untyped(record.record_id, links)
        if reading.article is not None:
            for found in self.parse_article(response, reading):
                yield found

    def links_of(self, response: Response, reading: Reading) -> list[str]:
        """The page's links, absolute; the dates it prints next to them are kept as hints."""
        for href, day in reading.dated_links.items():
            self.date_hints.see(clean_url(join_url(response.url, href)), day, "listing")
        return [join_url(response.url, h) for h in reading.hrefs + reading.alternates
                if h and not h.startswith(NOT_LINKS)]

    async def read(self, response: TextResponse, content_type: str) -> Reading | None:
        """The page read in the reading process, with the date other pages gave it."""
        asked = (response.meta.get("redirect_urls") or [response.url])[0]
        hint = self.date_hints.hint(clean_url(asked))
        if hint:
            self.crawler.stats.inc_value(f"crawl/pages/date_hint/{hint[1]}")
        try:
            return await self.reader.read(response.body, response.url, content_type, hint)
        except PageTimeout:  # skipped, counted: as a page with nothing to read
            self.crawler.stats.inc_value("bad_input/parse_timeout")
        except Abandoned:  # the crawl is stopping: the next run fetches the page again
            if self.stopping is not None:
                self.stopping.keep(response.request)
        return None

    def parse_article(self, response: Response, reading: Reading) -> Iterator[Any]:
        """The article's attachments, then the article itself, under its canonical URL."""
        article = reading.article
        assert article is not None
        fetched = clean_url(response.url)
        self.pages.article(fetched)
        yield from self.follow_all([a["url"] for a in article.attachments], attachment=True)
        canonical = reading.canonical
        canonical = clean_url(join_url(response.url, canonical)) if canonical else None
        url = (canonical if canonical and self.portal.in_scope(canonical)
               else self.links.parameter_order.canonical(fetched))
        if url != fetched:
            self.links.aliases[url].add(response.url)
        yield {
            "portal": self.portal.id,
            "url": url,
            "fetched_url": response.url,
            "article": article,
            "warc_record": response.meta.get("warc_record"),
            "warc_date": response.meta.get("warc_date"),
            "search_columns": reading.search_columns,
        }

    def parse_feed(self, response: TextResponse) -> Iterator[scrapy.Request]:
        """Sitemaps (index files too), RSS and Atom feeds: their URLs, nothing to extract."""
        feed = read_feed(response)
        self.set_page_type(response, feed.kind)
        links = [join_url(response.url, url) for url, _ in feed.entries]
        for link, (_, day) in zip(links, feed.entries, strict=True):
            self.date_hints.see(clean_url(link), day, "sitemap" if feed.kind == "sitemap"
                                else "listing")
        yield from self.follow_all(links)

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        """The ``Sitemap:`` lines of robots.txt; ``/sitemap.xml`` when it names none."""
        self.set_page_type(response, "robots")
        sitemaps = list(sitemap_urls_from_robots(response.body, base_url=response.url)
                        if response.status == 200 else [])
        yield from self.follow_all(sitemaps or [urljoin(self.portal.base_url, "/sitemap.xml")])

    def parse_document(self, response: Response) -> None:
        self.set_page_type(response, "document")
