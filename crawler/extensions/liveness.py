"""A dead portal fails fast: until the portal first answers, its failed attempts and the time
since its first request are counted, and past ``PORTAL_DOWN_ATTEMPTS`` attempts or
``PORTAL_DOWN_TIMEOUT`` seconds with no answer its crawl stops as ``down``.

An answer is any HTTP response below 500 from the portal (a 404 or a 429 says the server is
there); no DNS, a refused or reset connection, a timeout or a 5xx is no answer. The first
requests of a crawl are its home page and robots.txt, so these are what a down portal failed
to answer. A down crawl keeps its queue for the next run, as a stopped one does; the run row
says ``down`` and the health alarm counts it as a run with the home page down.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.http import Response

from archive.health import FAILURE_WORDS
from archive.runs import DOWN
from crawler.extensions.stopping import Stopping
from crawler.stats import errors_by_kind

logger = logging.getLogger(__name__)


class Liveness:
    def __init__(self, crawler: Crawler, *, attempts: int, timeout: float) -> None:
        self.crawler = crawler
        self.stopping: Stopping
        self.attempts = attempts
        self.timeout = timeout
        self.answered = False
        self.failed = 0  # attempts without an answer
        self.first: float | None = None  # when the first request reached the downloader
        self.timer: Any = None
        self.responded: set[Request] = set()  # requests a 5xx came back for
        for handler, signal in ((self.spider_opened, signals.spider_opened),
                                (self.request_reached, signals.request_reached_downloader),
                                (self.response_downloaded, signals.response_downloaded),
                                (self.request_left, signals.request_left_downloader),
                                (self.spider_idle, signals.spider_idle),
                                (self.spider_closed, signals.spider_closed)):
            crawler.signals.connect(handler, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Liveness:
        attempts = crawler.settings.getint("PORTAL_DOWN_ATTEMPTS")
        timeout = crawler.settings.getfloat("PORTAL_DOWN_TIMEOUT")
        if attempts <= 0 and timeout <= 0:
            raise NotConfigured("no bound on a portal that does not answer")
        return cls(crawler, attempts=attempts, timeout=timeout)

    def spider_opened(self, spider: Spider) -> None:
        stopping = self.crawler.get_extension(Stopping)
        if stopping is None:
            raise RuntimeError("Liveness needs the Stopping extension (EXTENSIONS)")
        self.stopping = stopping

    @property
    def watching(self) -> bool:
        return not self.answered and not self.stopping.stopping

    def request_reached(self, request: Request, spider: Spider) -> None:
        if self.first is None:
            from twisted.internet import reactor  # the one Scrapy installed (TWISTED_REACTOR)

            self.first = time.monotonic()
            if self.timeout > 0:
                self.timer = reactor.callLater(self.timeout, self.judge)

    def response_downloaded(self, response: Response, request: Request, spider: Spider,
                            ) -> None:
        if response.status < 500:
            self.answered = True
            self.cancel_timer()
        else:
            self.responded.add(request)  # answered, but as a server that is not working

    def request_left(self, request: Request, spider: Spider) -> None:
        self.responded.discard(request)
        if not self.watching:
            return
        self.failed += 1
        if 0 < self.attempts <= self.failed:
            self.judge()

    def spider_idle(self, spider: Spider) -> None:
        # Every request failed for good before either bound: the portal is down all the same.
        if not self.answered and self.failed and not self.stopping.stopping:
            logger.warning("%s", self.verdict())
            raise CloseSpider(DOWN)

    def judge(self) -> None:
        if self.watching:
            self.stopping.stop(DOWN, self.verdict())

    def verdict(self) -> str:
        seconds = time.monotonic() - (self.first or time.monotonic())
        errors = errors_by_kind(self.crawler.stats.get_stats())
        reasons = [FAILURE_WORDS.get(kind, kind.replace("http_", "HTTP "))
                   for kind in errors if kind != "retry_max_reached"]
        return (f"down: no answer in {seconds:.0f} s, {self.failed} attempts failed "
                f"({', '.join(dict.fromkeys(reasons)) or 'no response yet'})")

    def cancel_timer(self) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None

    def spider_closed(self, spider: Spider) -> None:
        self.cancel_timer()
