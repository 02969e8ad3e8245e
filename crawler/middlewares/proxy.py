"""Send every request through ``PORTAL_PROXY`` (the loopback fixture server in tests and demos)."""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class PortalProxyMiddleware:
    def __init__(self, proxy: str) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PortalProxyMiddleware:
        proxy = crawler.settings.get("PORTAL_PROXY")
        if not proxy:
            raise NotConfigured("PORTAL_PROXY is not set")
        return cls(proxy)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        # Set, not defaulted: a request from an old run's queue may name that run's proxy.
        request.meta["proxy"] = self.proxy
