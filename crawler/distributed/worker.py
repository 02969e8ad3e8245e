"""A worker process of a distributed crawl: takes portals from the cluster's queue and crawls
them, a few at a time, until stopped (or, with ``REDIS_UNTIL_DONE``, until the cluster has
nothing left queued or under way, its own portals and everyone else's).

Each portal's crawl is a Scrapy crawler of its own, as in ``portal-archive crawl``; the
distributed components (crawler/distributed/addon.py) make it hold the portal's lease and use
the shared frontier. The worker's heartbeat tells the cluster it is alive, which portals it
crawls and its pages per minute (``portal-archive status --redis``). SIGINT or SIGTERM stops
it cleanly: the portals it crawls go back in the queue, their frontier intact.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess, CrawlerProcessBase
from scrapy.settings import Settings
from scrapy.utils.reactor import install_reactor
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawler.distributed.cluster import Cluster, safe_url
from crawler.registry import Portal, RegistryError
from crawler.runner import spider_class

logger = logging.getLogger(__name__)

TICK = 1.0  # seconds between two looks at the queue (and heartbeats)
RATE_WINDOW = 60.0  # seconds over which pages per minute are measured


def reactor() -> Any:
    """Twisted's reactor, once Scrapy has installed the one it wants (importing it earlier
    would install the default one)."""
    from twisted.internet import reactor as installed

    return installed


class Worker:
    def __init__(self, process: CrawlerProcessBase, settings: Settings) -> None:
        self.process = process
        self.settings = settings
        self.cluster = Cluster(settings["REDIS_URL"], wait=True)
        self.id = settings["REDIS_WORKER_ID"]
        self.ttl = settings.getfloat("REDIS_LEASE_TIMEOUT")
        self.max_portals = max(1, settings.getint("REDIS_WORKER_PORTALS"))
        self.until_done = settings.getbool("REDIS_UNTIL_DONE")
        self.data_dir = settings["ARCHIVE_DATA_DIR"]
        self.crawls: dict[str, Crawler] = {}
        self.pages_done = 0  # pages of the crawls that ended
        self.rates: deque[tuple[float, int]] = deque()
        self.started = time.time()
        self.stopping = False
        self.interrupted = False  # stopped by a signal, not for want of work
        self.portals_crawled = 0
        self.loop: task.LoopingCall | None = None

    def run(self) -> None:
        """Work until stopped; returns once the reactor has stopped."""
        self.cluster.ping()  # outside the reactor: Ctrl-C works while Redis is away
        install_reactor(self.settings["TWISTED_REACTOR"], self.settings["ASYNCIO_EVENT_LOOP"])
        logger.info("worker %s of %s: taking portals", self.id, safe_url(self.cluster.url))
        reactor().callWhenRunning(self.begin)
        self.process.start(stop_after_crawl=False)

    def begin(self) -> None:
        # After Scrapy's own handlers are installed (at reactor startup): hear a stop first.
        reactor().callLater(0, self.watch_signals)
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(TICK)

    def watch_signals(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)

            def stop_first(number: int, frame: Any, previous: Any = previous) -> None:
                self.stopping = self.interrupted = True  # no new portal from now on
                if callable(previous):
                    previous(number, frame)
            signal.signal(signum, stop_first)

    def tick(self) -> None:
        self.beat()
        if self.stopping:
            return  # Scrapy stops the crawls, then the reactor
        while len(self.crawls) < self.max_portals and not self.stopping:
            portal = self.cluster.claim(self.id, self.ttl, busy=self.crawls)
            if portal is None:
                break
            self.start_crawl(portal)
        if self.until_done and not self.crawls and self.cluster.idle():
            logger.info("worker %s: the cluster has nothing queued or under way: stopping",
                        self.id)
            self.stop()

    def start_crawl(self, portal_id: str) -> None:
        job = self.cluster.job(portal_id)
        try:
            portal = Portal(**job["portal"])
        except (KeyError, TypeError, RegistryError) as e:
            logger.error("%s: the queued job cannot be crawled (%s): dropped", portal_id, e)
            self.cluster.release(portal_id, self.id, finished=True)
            return
        portal.settings = {**portal.settings, **job.get("settings", {})}
        crawler = self.process.create_crawler(spider_class(portal))
        self.crawls[portal_id] = crawler
        self.portals_crawled += 1
        logger.info("worker %s: crawling %s", self.id, portal_id)
        done = self.process.crawl(crawler, portal=portal)
        ended = self.crawl_ended(portal_id, crawler)
        if isinstance(done, Deferred):  # CrawlerProcess
            done.addBoth(ended)
        else:  # AsyncCrawlerProcess (scrapy crawl): an asyncio task
            done.add_done_callback(lambda t: ended(
                None if t.cancelled() or t.exception() is None else Failure(t.exception())))

    def crawl_ended(self, portal_id: str, crawler: Crawler) -> Callable[[Any], None]:
        def ended(result: Any) -> None:
            self.crawls.pop(portal_id, None)
            self.pages_done += crawler.stats.get_value("downloader/response_count", 0)
            if crawler.stats.get_value("finish_reason") == "shutdown":
                # Scrapy is stopping every crawl of the process
                self.stopping = self.interrupted = True
            if isinstance(result, Failure):
                # A crawl that could not start holds its lease without renewing it: give the
                # portal up rather than have it taken, and failing, again and again.
                logger.error("%s: the crawl failed to run: %s", portal_id,
                             result.getErrorMessage())
                self.cluster.release(portal_id, self.id, finished=True)
        return ended

    def pages(self) -> int:
        return self.pages_done + sum(c.stats.get_value("downloader/response_count", 0)
                                     for c in self.crawls.values())

    def beat(self, state: str | None = None) -> None:
        now, pages = time.time(), self.pages()
        self.rates.append((now, pages))
        while len(self.rates) > 1 and now - self.rates[0][0] > RATE_WINDOW:
            self.rates.popleft()
        first_time, first_pages = self.rates[0]
        per_minute = (pages - first_pages) * 60 / (now - first_time) if now > first_time else 0
        self.cluster.beat(self.id, {
            "host": socket.gethostname(), "pid": os.getpid(), "data": str(self.data_dir),
            "started": self.started, "pages": pages, "pages_per_minute": round(per_minute, 1),
            "portals": sorted(self.crawls), "portals_crawled": self.portals_crawled,
            "state": state or ("stopping" if self.stopping else
                               "crawling" if self.crawls else "waiting")})

    def stop(self) -> None:
        self.stopping = True
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.beat("stopped")
        reactor().stop()


def work(settings: Settings) -> bool:
    """Be a worker of the cluster ``settings`` name (``REDIS_URL``) until stopped, or done
    (``REDIS_UNTIL_DONE``); True when stopped by a signal."""
    worker = Worker(CrawlerProcess(settings), settings)
    worker.run()
    return worker.interrupted
