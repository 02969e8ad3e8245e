"""A live progress line on a terminal: portals done, pages, new articles, rate, errors.

Every crawler of the process (one per portal) reports to one board; the board rewrites one
line of stderr every ``PROGRESS_INTERVAL`` seconds. Enabled by ``PROGRESS_ENABLED``, which the
CLI sets only when stderr is a terminal and Scrapy's log goes to a file.
"""

from __future__ import annotations

import time
from typing import TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from archive.progress import StatusLine
from archive.runs import failures
from crawler.stats import errors_by_kind


class ProgressBoard:
    """The sum of every crawler's stats, drawn as one line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.status = StatusLine(stream, enabled=True)  # PROGRESS_ENABLED decided already
        self.crawlers: dict[Crawler, bool] = {}  # crawler -> finished
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    def add(self, crawler: Crawler, interval: float) -> None:
        self.crawlers[crawler] = False
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

    def line(self) -> str:
        pages = new = errors = 0
        for crawler in self.crawlers:
            stats = crawler.stats.get_stats()
            pages += stats.get("downloader/response_count", 0)
            new += stats.get("archive/articles/new", 0)
            errors += failures(errors_by_kind(stats))
        done = sum(self.crawlers.values())
        rate = pages / max(time.monotonic() - self.started, 0.001) * 60
        return (f"portals {done}/{len(self.crawlers)}  pages {pages}  new articles {new}  "
                f"{rate:.0f} pages/min  errors {errors}")

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
