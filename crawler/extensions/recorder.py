"""Record what one crawl of one portal met into its ``runs`` row: pages, errors by kind, and how
the portal's home page answered (the liveness alarms of ``archive/health.py`` read it).

Owned by the archive session (crawler/extensions/session.py), which writes its figures into
the run row just before the run is closed. The CLI names the invocation with ``OPS_JOB_ID``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils
from lxml import html
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from archive import runs
from archive.health import FORBIDDEN
from cleaners import HostTemplate
from cleaners.decode import decode
from crawler.middlewares.scope import request_refused
from crawler.stats import errors_by_kind

MAX_TITLE = 300  # characters of the home page's title kept (a title may be megabytes long)
MIN_CHROME_LINES = 3  # learned chrome lines needed before the home page is matched against them


class RunRecorder:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.job = crawler.settings.get("OPS_JOB_ID")
        self.full = crawler.settings.getbool("OPS_FULL_CRAWL")
        self.home: dict[str, Any] = {}
        self.home_tried: dict[str, Any] = {}  # the home page's last answer off the wire
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.request_refused, signal=request_refused)
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        # A crawl stopped while it was still retrying its home page (the portal down, 5xx)
        # never gets the final answer: the last one tried tells how the home page answered.
        first_url = (request.meta.get("redirect_urls") or [request.url])[0]
        if first_url in getattr(spider, "start_urls", ()):
            self.home_tried = {"home_status": response.status, "home_url": response.url}

    def response_received(self, response: Response, request: Request, spider: Spider) -> None:
        first_url = (request.meta.get("redirect_urls") or [request.url])[0]
        if self.home or first_url not in getattr(spider, "start_urls", ()):
            return
        self.home = {"home_status": response.status, "home_url": response.url,
                     "home_sample": json.dumps(page_sample(response), ensure_ascii=False),
                     "template_match": None}
        if urlsplit(response.url).hostname == urlsplit(first_url).hostname:
            # Another host's page (a redirect) is the liveness alarm's business, not drift's.
            self.home["template_match"] = template_match(getattr(spider, "template", None),
                                                         response)

    def request_refused(self, request: Request, reason: str) -> None:
        """The home page redirected out of the crawl's scope: the portal answered, with a
        redirect the crawl does not follow (the liveness alarm names the host it points to)."""
        redirects = request.meta.get("redirect_urls") or []
        spider = self.crawler.spider
        if self.home or not redirects or redirects[0] not in getattr(spider, "start_urls", ()):
            return
        status = (request.meta.get("redirect_reasons") or [None])[-1]
        self.home = {"home_status": status if isinstance(status, int) else 200,
                     "home_url": request.url, "home_sample": "{}", "template_match": None}

    def record(self, db: sqlite_utils.Database, run_id: int) -> None:
        """Write what the crawl met into its run row."""
        stats = self.crawler.stats.get_stats()
        errors = errors_by_kind(stats)
        home = dict(self.home or self.home_tried)
        if not home and stats.get("crawl/home_forbidden_by_robots"):
            home["home_error"] = FORBIDDEN  # the portal answers; it asks not to be crawled
        if not home:
            kinds = [k for k in errors
                     if not k.startswith("http_") and k not in runs.NOT_FAILURES]
            server_errors = [k for k in errors if k.startswith("http_5")]
            if kinds or not server_errors:
                home["home_error"] = ", ".join(kinds) or "no response"
            else:  # stopped (down) before the home page's turn: robots.txt answered 5xx
                home["home_status"] = int(server_errors[0].removeprefix("http_"))
        runs.record_crawl(db, run_id, job=self.job, full=self.full,
                          pages=stats.get("downloader/response_count", 0), errors=errors, **home)


def template_match(template: HostTemplate | None, response: Response) -> float | None:
    """The share of the portal's learned chrome lines (menus, footer: lines on most of its
    pages) that the home page still shows; None until enough is learned to say."""
    if template is None or not isinstance(response, TextResponse) or response.status != 200:
        return None
    chrome = [line for line in template.counts if template.is_chrome(line)]
    if len(chrome) < MIN_CHROME_LINES:
        return None
    home = HostTemplate()
    home.learn(response.body, response.url,
               {"Content-Type": response.headers.get(b"Content-Type", b"").decode("latin-1")})
    return round(sum(line in home.counts for line in chrome) / len(chrome), 3)


def page_sample(response: Response) -> dict[str, Any]:
    """What a parked-page check needs of the home page: its title, some text, its link count.
    Decoded as the cleaners decode every page (NFC, no control characters): the title is
    printed in alarms."""
    if not isinstance(response, TextResponse) or not response.body.strip():
        return {"title": "", "text": "", "links": 0}
    content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
    try:
        tree = html.fromstring(decode(response.body, {"Content-Type": content_type})[0])
    except (ValueError, html.etree.ParserError):
        return {"title": "", "text": "", "links": 0}
    for bad in tree.xpath("//script | //style"):
        bad.drop_tree()
    text = " ".join(tree.text_content().split())
    title = " ".join((tree.findtext(".//title") or "").split())
    return {"title": title[:MAX_TITLE], "text": text[:1000],
            "links": len(tree.xpath("//a[@href]"))}
