"""A live progress line on a terminal: portals done, pages, new articles, errors, then each
running portal's pages per minute and requests queued (the run's rate once all are done).

Every crawler of the process (one per portal) reports to one board; the board rewrites one
line of stderr every ``PROGRESS_INTERVAL`` seconds. Enabled by ``PROGRESS_ENABLED``, which the
CLI sets only when stderr is a terminal and Scrapy's log goes to a file.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from archive.progress import StatusLine
from archive.runs import failures
from crawler.stats import errors_by_kind

RATE_WINDOW = 60.0  # seconds: pages/min is measured over the last minute


class ProgressBoard:
    """The sum of every crawler's stats, drawn as one line, then each running portal's pages
    per minute and queue (requests scheduled, not yet sent). A crawl's size is not known in
    advance, so the line shows no bar and no time left."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.status = StatusLine(stream, enabled=True)  # PROGRESS_ENABLED decided already
        self.crawlers: dict[Crawler, bool] = {}  # crawler -> finished
        self.samples: dict[Crawler, deque[tuple[float, int]]] = {}  # (time, pages) per crawler
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    def add(self, crawler: Crawler, interval: float) -> None:
        self.crawlers[crawler] = False
        self.samples[crawler] = deque([(time.monotonic(), 0)])
        if self.loop is None:
            self.loop = task.LoopingCall(self.draw)
            self.loop.start(interval, now=False)

    def finish(self, crawler: Crawler) -> None:
        self.crawlers[crawler] = True
        self.draw()
        if all(self.crawlers.values()) and self.loop is not None:
            self.loop.stop()
            self.loop = None
            self.status.close()

    def rate(self, crawler: Crawler, pages: int, now: float) -> float:
        """Pages per minute over the last ``RATE_WINDOW`` seconds (since the start before)."""
        samples = self.samples[crawler]
        samples.append((now, pages))
        while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW:
            samples.popleft()
        then, before = samples[0]
        return (pages - before) / max(now - then, 0.001) * 60

    def line(self) -> str:
        now = time.monotonic()
        pages = new = errors = 0
        portals = []
        for crawler, finished in self.crawlers.items():
            stats = crawler.stats.get_stats()
            done = stats.get("downloader/response_count", 0)
            pages += done
            new += stats.get("archive/articles/new", 0)
            errors += failures(errors_by_kind(stats))
            per_minute = self.rate(crawler, done, now)
            if not finished:
                queued = stats.get("scheduler/enqueued", 0) - stats.get("scheduler/dequeued", 0)
                portal = getattr(crawler.spider, "portal", None)
                name = portal.id if portal is not None else "portal"
                portals.append(f"{name} {per_minute:.0f} pages/min  {queued} queued")
        done = sum(self.crawlers.values())
        if not portals:  # all finished: the run's own rate
            portals.append(f"{pages / max(now - self.started, 0.001) * 60:.0f} pages/min")
        totals = f"portals {done}/{len(self.crawlers)}  pages {pages}  new {new}  errors {errors}"
        return "  |  ".join([totals, *portals])

    def draw(self) -> None:
        self.status.draw(self.line())


BOARD = ProgressBoard()


class ProgressLine:
    """The Scrapy extension that puts a crawler on the board."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressLine:
        if not crawler.settings.getbool("PROGRESS_ENABLED"):
            raise NotConfigured
        return cls(crawler, crawler.settings.getfloat("PROGRESS_INTERVAL"))

    def spider_opened(self, spider: object) -> None:
        BOARD.add(self.crawler, self.interval)

    def spider_closed(self, spider: object) -> None:
        BOARD.finish(self.crawler)
