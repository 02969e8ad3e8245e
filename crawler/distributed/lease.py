"""The portal's lease, held for as long as this worker crawls the portal: taken when the crawl
is built, renewed by a heartbeat, given back when the crawl's engine has stopped, after the
spider closed and its archive with it: a portal the cluster counts done has its WARC files
closed, ready for ``merge``.

A run that ended on its own terms (finished, page budget spent, portal down) is done: the
cluster forgets its frontier. One that was interrupted (a signal, a time budget, the lease
lost, the data directory locked) goes back in the queue, not to be taken again before the
host's delay has passed since this worker's last request. A worker that dies renews nothing:
its lease runs out after ``REDIS_LEASE_TIMEOUT`` seconds and another worker takes the portal,
at least that long minus one heartbeat after the dead one's last request.
"""

from __future__ import annotations

import logging
import time

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from crawler.distributed.cluster import Cluster, worker_id
from crawler.extensions.session import LOCKED
from crawler.registry import Portal

logger = logging.getLogger(__name__)

LEASE_LOST = "lease_lost"
LEASED = "leased"  # the finish reason of a crawl whose portal another worker holds
# Finish reasons after which the portal's run goes on later (this worker's or another's).
INTERRUPTED = {"shutdown", "time_budget", LEASE_LOST, LOCKED}


class PortalLease:
    def __init__(self, crawler: Crawler, cluster: Cluster, portal: Portal, worker: str,
                 ttl: float) -> None:
        self.crawler = crawler
        self.cluster = cluster
        self.portal = portal
        self.worker = worker
        self.ttl = ttl
        self.holder = ""  # the worker holding the portal, when it is not this one
        self.closing = False
        self.heartbeat: task.LoopingCall | None = None
        self.ended: tuple[str, float] | None = None  # at spider_closed: reason, next run after

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PortalLease:
        settings = crawler.settings
        if not settings.get("REDIS_URL"):
            raise NotConfigured("REDIS_URL is not set")
        portal = getattr(crawler.spider, "portal", None)
        if not isinstance(portal, Portal):
            raise NotConfigured("the spider crawls no portal")
        worker = settings.get("REDIS_WORKER_ID") or worker_id()
        lease = cls(crawler, Cluster(settings["REDIS_URL"], wait=True), portal, worker,
                    settings.getfloat("REDIS_LEASE_TIMEOUT"))
        lease.holder = lease.cluster.take(portal.to_dict(), worker, lease.ttl,
                                          settings=portal.settings)
        if not lease.holder:
            # From now on: building and opening a crawl can take seconds on a busy machine.
            lease.heartbeat = task.LoopingCall(lease.renew)
            lease.heartbeat.start(lease.ttl / 3, now=False)
        crawler.signals.connect(lease.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(lease.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(lease.engine_stopped, signal=signals.engine_stopped)
        return lease

    @property
    def held(self) -> bool:
        return not self.holder and not self.closing

    def spider_opened(self, spider: Spider) -> None:
        if self.holder:
            logger.error("%s: worker %s is crawling it: not crawling", self.portal.id,
                         self.holder)
            raise CloseSpider(LEASED)

    def renew(self) -> None:
        if not self.closing and not self.cluster.renew(self.portal.id, self.worker, self.ttl):
            self.lost()

    def lost(self) -> None:
        """The lease is another worker's now: stop crawling the portal at once."""
        if self.closing:
            return
        self.closing = True
        logger.error("%s: lost the lease (this worker was silent past %g s, or Redis lost "
                     "it): stopping; the portal is another worker's now", self.portal.id,
                     self.ttl)
        if self.crawler.engine is not None and self.crawler.engine.spider is not None:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=LEASE_LOST))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        # The lease is still held while the archive closes (the session's spider_closed,
        # after this one): what the next run may do is decided now, with the host's delay.
        self.ended = (reason, time.time() + self.host_delay())

    def engine_stopped(self) -> None:
        if self.heartbeat is not None and self.heartbeat.running:
            self.heartbeat.stop()
        if self.holder or self.ended is None:
            return
        reason, not_before = self.ended
        finished = reason not in INTERRUPTED
        given_back = self.cluster.release(self.portal.id, self.worker, finished=finished,
                                          not_before=not_before)
        if given_back:
            logger.info("%s: %s (%s)", self.portal.id,
                        "run done" if finished else "back in the queue", reason)
        self.closing = True

    def host_delay(self) -> float:
        """Seconds between two requests to the portal's host now (Crawl-delay and backoff
        included): what the next worker waits after this one's last request."""
        delay = self.crawler.settings.getfloat("DOWNLOAD_DELAY")
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(self.portal.host) if engine is not None else None
        return max(delay, getattr(slot, "delay", 0.0))
