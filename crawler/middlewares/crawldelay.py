"""Apply robots.txt ``Crawl-delay``, which Scrapy parses (``RobotParser.crawl_delay``, Scrapy
2.18) but does not enforce.

The delay becomes the host's download-slot delay, without jitter (jitter would halve it on
some requests) and out of AutoThrottle's reach (which would lower it on a fast server).
``ROBOTSTXT_CRAWL_DELAY_MAX`` caps it, for tests and for our own loopback fixture server.
"""

from __future__ import annotations

import logging

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached

logger = logging.getLogger(__name__)


class CrawlDelayMiddleware:
    def __init__(self, crawler: Crawler, *, user_agent: str, max_delay: float | None) -> None:
        self.crawler = crawler
        self.user_agent = user_agent
        self.max_delay = max_delay
        self.delays: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelayMiddleware:
        settings = crawler.settings
        if not settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured("ROBOTSTXT_OBEY is off")
        cap = settings.get("ROBOTSTXT_CRAWL_DELAY_MAX")
        mw = cls(
            crawler,
            user_agent=settings.get("ROBOTSTXT_USER_AGENT") or settings["USER_AGENT"],
            max_delay=None if cap in (None, "") else float(cap),
        )
        crawler.signals.connect(mw.robots_parsed, signal=signals.robots_parsed)
        return mw

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        delay = robotparser.crawl_delay(self.user_agent)  # None when the parser cannot tell
        if not delay:
            return
        if self.max_delay is not None:
            delay = min(delay, self.max_delay)
        host = urlparse_cached(request).hostname or ""
        self.delays[host] = float(delay)
        self.crawler.stats.set_value("politeness/crawl_delay", float(delay))
        logger.info("robots.txt of %s asks for Crawl-delay; waiting %.2f s between requests",
                    host, delay)
        downloader = self.crawler.engine.downloader
        # New slots for this host (after slot garbage collection too) start with the delay.
        downloader.per_slot_settings[host] = {"delay": float(delay), "jitter": 0.0}
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None:
            slot.delay, slot.jitter = float(delay), 0.0

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if urlparse_cached(request).hostname in self.delays:
            request.meta["autothrottle_dont_adjust_delay"] = True
