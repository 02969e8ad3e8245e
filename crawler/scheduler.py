"""Scrapy's scheduler, which also keeps the requests a stopping crawl abandoned.

When a crawl stops (crawler/extensions/stopping.py), the requests it dropped from the downloader
go back into the queue as the scheduler closes, just before Scrapy writes the queue into the
job directory: the next run of the portal fetches them (crawler/resume.py).
"""

from __future__ import annotations

from typing import Self

from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from twisted.internet.defer import Deferred

from crawler.extensions.stopping import Stopping


class KeepingScheduler(Scheduler):
    stopping: Stopping | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        scheduler = super().from_crawler(crawler)
        scheduler.stopping = crawler.get_extension(Stopping)
        return scheduler

    def close(self, reason: str) -> Deferred[None] | None:
        if self.stopping is not None:
            for request in self.stopping.abandoned:
                self.enqueue_request(request)
            self.stopping.abandoned.clear()
        return super().close(reason)
