"""The generic portal spider: follows a portal's own links, archives everything it fetches,
and hands article pages to the cleaners.

It needs no configuration but a base URL; it works the same on a CMS family nobody has seen.

    scrapy crawl portal -a portal=aluoi-tth            # a portal of the registry
    scrapy crawl portal -a url=https://example.gov.vn/  # any portal, ad hoc
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response, TextResponse

import cleaners
from archive import index
from crawler.registry import Portal, RegistryError, load_registry
from crawler.session import ArchiveSession

# Fetched and archived, never parsed for links: government documents are often what matters most.
DOCUMENT_EXTENSIONS = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".rtf",
                       ".zip", ".rar"}
# Not fetched at all: page furniture.
SKIPPED_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".svg", ".webp", ".ico", ".css",
                      ".js", ".woff", ".woff2", ".ttf", ".eot", ".mp3", ".mp4", ".avi", ".flv",
                      ".swf", ".wmv"}
TRACKING_PARAMETERS = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|zarsrc|_ga|mc_\w+)$", re.I)
# A date in a URL marks calendar pages, which go on forever.
DATE_IN_URL = re.compile(r"(19|20)\d\d[-/_.]?(0[1-9]|1[0-2])[-/_.]?(0[1-9]|[12]\d|3[01])")


def strip_tracking(url: str) -> str:
    """The URL without tracking parameters; parameter order is kept (some sites care)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not TRACKING_PARAMETERS.match(k)]
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))


def url_shape(url: str) -> str:
    """The URL with every run of digits replaced, to count URLs of one kind."""
    return re.sub(r"\d+", "N", url)


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
        if isinstance(portal, Portal):
            self.portal = portal
        elif portal:
            try:
                self.portal = load_registry()[portal]
            except KeyError as e:
                raise RegistryError(f"unknown portal id {portal!r}") from e
        elif url:
            host = urlsplit(url).hostname or "portal"
            self.portal = Portal(id=host, base_url=url, province=province, district=district)
        else:
            raise RegistryError("give a portal: -a portal=ID or -a url=https://...")
        self.start_urls = list(self.portal.start_urls)
        self.date_url_counts: Counter[str] = Counter()
        self.pages_requested = 0

    async def start(self) -> Any:
        session = ArchiveSession.for_crawler(self.crawler)
        stored = index.load_template(session.db, self.portal.host)
        self.template = (cleaners.HostTemplate.from_json(stored) if stored
                         else cleaners.HostTemplate())
        self.max_pages = self.settings.getint("PORTAL_MAX_PAGES")
        self.date_url_limit = self.settings.getint("PORTAL_DATE_URL_LIMIT")
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse)

    def closed(self, reason: str) -> None:
        session = ArchiveSession.for_crawler(self.crawler)
        if getattr(self, "template", None) is not None:
            index.save_template(session.db, self.portal.host, self.template.to_json())

    # -- following links -------------------------------------------------------------------

    def follow(self, url: str) -> scrapy.Request | None:
        """A request for ``url`` if it belongs to the portal and is worth fetching."""
        url = url.split("#", 1)[0]
        if not self.portal.in_scope(url):
            return None
        ext = extension(url)
        if ext in SKIPPED_EXTENSIONS:
            return None
        if DATE_IN_URL.search(urlsplit(url).query + urlsplit(url).path):
            shape = url_shape(url)
            if self.date_url_counts[shape] >= self.date_url_limit:
                self.crawler.stats.inc_value("discovery/skipped/calendar")
                return None
            self.date_url_counts[shape] += 1
        if self.pages_requested >= self.max_pages:
            self.crawler.stats.inc_value("discovery/skipped/max_pages")
            return None
        self.pages_requested += 1
        if ext in DOCUMENT_EXTENSIONS:
            return scrapy.Request(url, callback=self.parse_document)
        return scrapy.Request(url, callback=self.parse)

    def links(self, response: TextResponse) -> Iterator[str]:
        for href in response.xpath("//a/@href | //link[@rel='alternate']/@href").getall():
            href = href.strip()
            if href and not href.startswith(("javascript:", "mailto:", "tel:", "#")):
                yield urljoin(response.url, href)

    # -- callbacks -------------------------------------------------------------------------

    def parse(self, response: Response) -> Iterator[Any]:
        session = ArchiveSession.for_crawler(self.crawler)
        record = response.meta.get("warc_record")
        if not isinstance(response, TextResponse):
            if record:
                session.set_page_type(record.record_id, "document")
            return
        for url in self.links(response):
            request = self.follow(url)
            if request is not None:
                yield request

        headers = {"Content-Type": response.headers.get(b"Content-Type", b"").decode("latin-1")}
        self.template.learn(response.body, response.url, headers)
        article = cleaners.extract(response.body, response.url, headers, template=self.template)
        if record:
            session.set_page_type(record.record_id, "article" if article else "page")
        if article is None:
            return
        canonical = response.xpath("//link[@rel='canonical']/@href").get()
        canonical = urljoin(response.url, canonical.strip()) if canonical else None
        url = canonical if canonical and self.portal.in_scope(canonical) else response.url
        yield {
            "portal": self.portal.id,
            "url": strip_tracking(url),
            "fetched_url": response.url,
            "article": article,
            "warc_record": record,
            "warc_date": response.meta.get("warc_date"),
        }

    def parse_document(self, response: Response) -> None:
        record = response.meta.get("warc_record")
        if record:
            ArchiveSession.for_crawler(self.crawler).set_page_type(record.record_id, "document")


def article_row(item: dict[str, Any]) -> dict[str, Any]:
    """The index row of an article item (without the fields the index adds itself)."""
    article = item["article"]
    record = item["warc_record"]
    return {
        "url": item["url"],
        "portal": item["portal"],
        "title": article.title,
        "published": article.published,
        "date_source": article.date_source,
        "author": article.author,
        "category": article.category,
        "summary": article.summary,
        "text": article.text,
        "captions": json.dumps(article.captions, ensure_ascii=False),
        "attachments": json.dumps(article.attachments, ensure_ascii=False),
        "word_count": len(article.text.split()),
        "language": article.language,
        "digest": article.digest,
        "warc_file": record.warc_file,
        "warc_offset": record.offset,
        "warc_length": record.length,
        "payload_digest": record.payload_digest,
    }
