"""Stopping a portal's crawl at once and cleanly, whatever the reason: Ctrl-C or SIGTERM
(``shutdown``), its time budget used up (``time_budget``), the portal down (``down``), the
archive unwritable (``disk_full``, ``os_error``).

Scrapy's own stop is graceful: it sends no new request, but waits for every request it already
handed to the downloader, and those include requests queued behind their host's delay, which a
backoff stretches to minutes each. A stop here waits for none of them: requests waiting for
their turn and downloads under way are abandoned (``Abandoned``, never counted as a failure)
and handed back to the scheduler as it closes (crawler/scheduler.py), which writes them into
the job's queue with the rest, so that the next run of the portal fetches them
(crawler/resume.py). Pages already downloaded are still read and stored.

The first SIGINT or SIGTERM is acknowledged on stderr at once; a second one stops the process
at once (Scrapy's forced stop), and the runner then closes what the archive had written
(``ArchiveSession.close_after_forced_stop``).
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from archive.progress import print_above
from archive.runs import SHUTDOWN, TIME_BUDGET
from crawler.extensions import required_extension

logger = logging.getLogger(__name__)

# What the way through the downloader wrote into a request's meta: a kept request starts afresh
# (this run's proxy is not the next run's).
DOWNLOAD_META = ("proxy", "_auth_proxy", "download_slot", "download_latency", "warc_record",
                 "warc_date", "autothrottle_dont_adjust_delay")


class Abandoned(IgnoreRequest):
    """Raised for a request dropped because its crawl is stopping: it goes back to the queue."""


class Stopping:
    """The Scrapy extension that stops one crawler at once; ``stop(reason)`` from anywhere."""

    def __init__(self, crawler: Crawler, budget: float) -> None:
        self.crawler = crawler
        self.budget = budget  # seconds; 0: none
        self.reason: str | None = None
        self.abandoned: list[Request] = []  # handed back to the scheduler as it closes
        self.hooks: list[Callable[[], None]] = []  # what else to abandon (downloads under way)
        self.sleepers: set[Deferred[None]] = set()  # waits that a stop ends early
        self.timer: Any = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        SIGNALS.add(self)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Stopping:
        return cls(crawler, crawler.settings.getfloat("PORTAL_TIME_BUDGET"))

    @property
    def stopping(self) -> bool:
        return self.reason is not None

    def spider_opened(self, spider: object) -> None:
        from twisted.internet import reactor  # the one Scrapy installed (TWISTED_REACTOR)

        if self.budget > 0:
            self.timer = reactor.callLater(self.budget, self.stop, TIME_BUDGET,
                                           f"its time budget of {self.budget:g} s is used up")

    def spider_closed(self, spider: object) -> None:
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        SIGNALS.discard(self)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the crawl stops meanwhile."""
        from twisted.internet import reactor  # the one Scrapy installed (TWISTED_REACTOR)

        if self.stopping:
            return
        waiting: Deferred[None] = Deferred()
        call = reactor.callLater(seconds, waiting.callback, None)
        self.sleepers.add(waiting)
        try:
            await maybe_deferred_to_future(waiting)
        finally:
            self.sleepers.discard(waiting)
            if call.active():
                call.cancel()

    def on_stop(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` when the crawl stops, to abandon what it holds (downloads under way,
        pages waiting to be read)."""
        self.hooks.append(hook)

    def stop(self, reason: str, why: str = "") -> None:
        """Stop the crawl now: no new request, nothing waited for; the engine closes the spider
        with ``reason`` (Scrapy itself closes it on a signal, as ``shutdown``)."""
        if self.reason is not None or self.crawler.engine is None:
            return
        self.reason = reason
        if why:
            portal = getattr(self.crawler.spider, "portal", None)
            logger.warning("%s: stopping: %s", getattr(portal, "id", "crawl"), why)
        self.crawler.stats.set_value("crawl/stopped_at", time.time())
        self.abandon_queued()
        for waiting in list(self.sleepers):
            if not waiting.called:
                waiting.callback(None)
        for hook in self.hooks:
            hook()
        if reason != SHUTDOWN and self.crawler.engine.spider is not None:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=reason))

    def abandon_queued(self) -> None:
        """Requests waiting in the downloader for their host's delay: dropped, kept."""
        for slot in self.crawler.engine.downloader.slots.values():
            while slot.queue:
                request, waiting = slot.queue.popleft()
                self.keep(request)
                waiting.errback(Failure(Abandoned("the crawl is stopping")))

    def keep(self, request: Request) -> None:
        """Keep ``request`` for the next run (through the scheduler's queue)."""
        if request.callback is not NO_CALLBACK:  # robots.txt fetches are the middleware's own
            self.crawler.stats.inc_value("crawl/abandoned")
            meta = {k: v for k, v in request.meta.items() if k not in DOWNLOAD_META}
            self.abandoned.append(request.replace(dont_filter=True, meta=meta))


class StoppingMiddleware:
    """A downloader middleware, last before the download: once the crawl stops, every request
    that reaches it (one that waited for robots.txt, or for a backoff) is abandoned."""

    def __init__(self, stopping: Stopping) -> None:
        self.stopping = stopping

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoppingMiddleware:
        return cls(required_extension(crawler, Stopping))

    def process_request(self, request: Request, spider: object = None) -> None:
        if self.stopping.stopping:
            self.stopping.keep(request)
            raise Abandoned("the crawl is stopping")


class SignalWatch:
    """One per process: the first SIGINT/SIGTERM is said on screen at once and stops every
    crawler of the process at once; the second is said too (Scrapy then stops the reactor).

    Scrapy installs its own handlers once the reactor has started; these wrap them, so that
    Scrapy's shutdown and its logging go on as before.
    """

    def __init__(self) -> None:
        self.members: set[Stopping] = set()
        self.installed = False
        self.heard = 0
        self.say: Callable[[str], None] = _say_on_stderr

    def add(self, stopping: Stopping) -> None:
        from twisted.internet import reactor  # the one Scrapy installed (TWISTED_REACTOR)

        self.members.add(stopping)
        if not self.installed:
            self.installed = True
            # After Scrapy's own "after startup" trigger has installed its handlers.
            reactor.addSystemEventTrigger("after", "startup",
                                          lambda: reactor.callLater(0, self.install))

    def discard(self, stopping: Stopping) -> None:
        self.members.discard(stopping)

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if callable(previous) and not getattr(previous, "watch", None):
                signal.signal(signum, self.wrap(previous))

    def wrap(self, previous: Callable[[int, Any], Any]) -> Callable[[int, Any], None]:
        from twisted.internet import reactor  # the one Scrapy installed (TWISTED_REACTOR)

        def handler(signum: int, frame: Any) -> None:
            self.heard += 1
            reactor.callFromThread(self.hear, signum, self.heard)
            previous(signum, frame)
            self.install()  # Scrapy has put its forced-stop handler in place: hear it too

        handler.watch = self  # type: ignore[attr-defined]
        return handler

    def hear(self, signum: int, count: int) -> None:
        name = signal.Signals(signum).name
        if count == 1:
            self.say(f"{name}: stopping: no new requests; requests under way are dropped and "
                     "kept with the queue for the next run (again to stop at once)")
            for member in list(self.members):
                member.stop(SHUTDOWN)
        elif count == 2:
            self.say(f"{name} again: stopping at once; what was written is closed, the queue "
                     "is not kept")


def _say_on_stderr(text: str) -> None:
    print_above(text, sys.stderr)  # above the progress line, if one is drawn


SIGNALS = SignalWatch()
