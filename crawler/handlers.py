"""Scrapy's HTTP/1.1 download handler, whose downloads under way a stopping crawl abandons.

A download in flight can take up to ``DOWNLOAD_TIMEOUT`` (30 s) to end by itself; a crawl told
to stop does not wait for it. The stop (crawler/extensions/stopping.py) cancels each one, which
closes its connection, and keeps its request for the next run.
"""

from __future__ import annotations

import asyncio

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.extensions.stopping import Abandoned, Stopping


class HTTPDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.under_way: dict[Request, asyncio.Future[Response]] = {}
        self.stopping = crawler.get_extension(Stopping)
        if self.stopping is not None:
            self.stopping.on_stop(self.abandon)

    async def download_request(self, request: Request) -> Response:
        if self.stopping is not None and self.stopping.stopping:
            self.stopping.keep(request)
            raise Abandoned("the crawl is stopping")
        download = asyncio.ensure_future(super().download_request(request))
        self.under_way[request] = download
        try:
            return await download
        except asyncio.CancelledError:
            if self.stopping is None or not self.stopping.stopping:
                raise
            raise Abandoned("the crawl is stopping") from None
        finally:
            self.under_way.pop(request, None)

    def abandon(self) -> None:
        assert self.stopping is not None
        for request, download in list(self.under_way.items()):
            self.stopping.keep(request)
            download.cancel()
