"""Scrapy's scheduler for one portal of a distributed crawl: its queue and seen fingerprints live
in Redis (crawler/distributed/cluster.py ``Frontier``), where a worker taking the portal over
finds them.

A request taken from the queue stays in the portal's in-flight set until the handled marker
comes back (crawler/distributed/handled.py) and the session commits it (after an fsync of
the WARC file: crawler/distributed/session.py); a retry or a redirect of it replaces it there.
When this worker takes a portal whose run another began, the requests that one had under way
go back in the queue, and the portal's start pages are asked for once more although seen:
they say whether the portal is up (the liveness requests, as a resumed crawl makes).
"""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.core.scheduler import BaseScheduler
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.distributed.cluster import Frontier, LeaseLost
from crawler.distributed.handled import HANDLED
from crawler.distributed.lease import PortalLease
from crawler.distributed.requests import REQUEST_ID, decode, encode
from crawler.distributed.session import WorkerSession
from crawler.urls import clean_url

logger = logging.getLogger(__name__)


class FrontierScheduler(BaseScheduler):
    def __init__(self, crawler: Crawler, lease: PortalLease, session: WorkerSession) -> None:
        self.crawler = crawler
        self.lease = lease
        self.session = session
        self.frontier = Frontier(lease.cluster, lease.portal.id, lease.worker)
        self.stats = crawler.stats
        self.queued = 0  # requests in the portal's queue, as this worker (its only writer) knows
        self.liveness: set[str] = set()  # start pages to ask for again although seen
        self.spider: Spider | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierScheduler:
        lease = crawler.get_extension(PortalLease)
        session = crawler.get_extension(WorkerSession)
        if lease is None or session is None:
            raise NotConfigured("the distributed scheduler needs the PortalLease and "
                                "WorkerSession extensions")
        return cls(crawler, lease, session)

    def open(self, spider: Spider) -> None:
        self.spider = spider
        if not self.lease.held:
            return
        try:
            back, self.queued, seen = self.frontier.restore()
        except LeaseLost:
            self.lease.lost()
            return
        if seen:
            self.liveness = {Request(clean_url(u)).url for u in spider.start_urls}
            self.stats.set_value("distributed/taken_over", 1)
            logger.info("%s: going on with a run begun before: %d requests queued, %d put back "
                        "from under way, %d URLs seen", self.lease.portal.id, self.queued, back,
                        seen)

    def close(self, reason: str) -> None:
        # Before the spider_closed signal, at which the lease is given back.
        self.session.commit()
        self.spider = None

    def has_pending_requests(self) -> bool:
        return self.queued > 0

    def enqueue_request(self, request: Request) -> bool:
        try:
            return self._enqueue(request)
        except LeaseLost:
            self.lease.lost()
            return False

    def _enqueue(self, request: Request) -> bool:
        handled = request.meta.get(HANDLED)
        if handled is not None:
            self.session.handled.append(handled)  # acknowledged at the next commit
            return True
        assert self.spider is not None
        unfiltered = request.dont_filter or request.url in self.liveness
        self.liveness.discard(request.url)
        fingerprint = None if unfiltered else self.crawler.request_fingerprinter.fingerprint(
            request).hex()
        added = self.frontier.push(encode(request, self.spider), fingerprint=fingerprint,
                                   priority=request.priority,
                                   replaces=request.meta.get(REQUEST_ID))
        if added:
            self.queued += 1
            self.stats.inc_value("scheduler/enqueued/redis")
        else:
            self.stats.inc_value("dupefilter/filtered")
        return added

    def next_request(self) -> Request | None:
        if not self.queued or self.spider is None:
            return None
        try:
            found = self.frontier.pop()
        except LeaseLost:
            self.lease.lost()
            found = None
        if found is None:
            self.queued = 0
            return None
        request_id, data, self.queued = found
        request = decode(data, self.spider)
        request.meta[REQUEST_ID] = request_id
        self.stats.inc_value("scheduler/dequeued/redis")
        return request
