"""Scrapy's scheduler, which also keeps the requests a stopping crawl abandoned.

When a crawl stops (crawler/extensions/stopping.py), the requests it dropped from the downloader
go back into the queue as the scheduler closes, just before Scrapy writes the queue into the
job directory: the next run of the portal fetches them (crawler/resume.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from scrapy import Request
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from twisted.internet.defer import Deferred

from archive.diskerrors import REASONS
from crawler.extensions.session import ArchiveSession
from crawler.extensions.stopping import Stopping


class KeepingScheduler(Scheduler):
    """Also: the job directory's writes failing (disk full) stop the crawl as the archive's do."""

    stopping: Stopping | None = None
    session: ArchiveSession | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        scheduler = super().from_crawler(crawler)
        scheduler.stopping = crawler.get_extension(Stopping)
        scheduler.session = crawler.get_extension(ArchiveSession)
        return scheduler

    def enqueue_request(self, request: Request) -> bool:
        try:
            return super().enqueue_request(request)
        except OSError as e:
            if self.session is None:
                raise
            self.session.write_failed(e)
            return False

    def next_request(self) -> Request | None:
        # Popping a request off the job directory's queue truncates its file: a write.
        try:
            return super().next_request()
        except OSError as e:
            if self.session is None:
                raise
            self.session.write_failed(e, Path(self.dqdir) if self.dqdir else None)
            return None

    def close(self, reason: str) -> Deferred[None] | None:
        if self.stopping is not None and reason not in REASONS:
            for request in self.stopping.abandoned:
                self.enqueue_request(request)
            self.stopping.abandoned.clear()
        try:
            return super().close(reason)
        except OSError as e:  # the queue could not be written: it is not kept anyway
            if self.session is None:
                raise
            self.session.write_failed(e)
            return None
