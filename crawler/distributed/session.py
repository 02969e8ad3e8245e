"""The archive session of a worker of a distributed crawl (crawler/extensions/session.py, with
what the cluster knows).

The worker writes its own data directory, as a single-machine crawl does; what another worker
needs to crawl the portal next comes from Redis: the portal's stored articles with the
``ETag``/``Last-Modified`` of their last full capture (so that a recrawl asks for them only
conditionally, whichever worker stored them), that capture's record (a ``304`` or an unchanged
payload becomes a ``revisit`` of it, in whichever worker's WARC file it is), and the host
template.

Handled requests leave the in-flight set and stored articles join the knowledge in commits,
once a second (``REDIS_COMMIT_INTERVAL``), each after an fsync of the WARC file. Run ids
come from the cluster and WARC file names carry the worker's id, so that every worker's
archive merges into one (``portal-archive merge``).
"""

from __future__ import annotations

import re
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.internet import task

from crawler.distributed.cluster import Cluster, Frontier, LeaseLost, worker_id
from crawler.distributed.lease import PortalLease
from crawler.extensions.session import ArchiveSession
from crawler.incremental import validators
from crawler.middlewares.warc import response_head
from crawler.urls import clean_url


class WorkerSession(ArchiveSession):
    cluster: Cluster
    worker: str
    known: dict[str, dict[str, Any]]  # article URL -> its last capture, as the cluster knows it
    frontier: Frontier
    handled: list[str]  # ids of requests handled since the last commit
    learned: dict[str, dict[str, Any]]  # articles stored since the last commit
    committing: task.LoopingCall
    commit_interval: float

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WorkerSession:
        session = super().from_crawler(crawler)
        assert isinstance(session, WorkerSession)
        settings = crawler.settings
        session.cluster = Cluster(settings["REDIS_URL"], wait=True)
        session.worker = settings.get("REDIS_WORKER_ID") or worker_id()
        session.known = {}
        session.frontier = Frontier(session.cluster, session.portal.id, session.worker)
        session.handled = []
        session.learned = {}
        session.committing = task.LoopingCall(session.commit)
        session.commit_interval = settings.getfloat("REDIS_COMMIT_INTERVAL")
        crawler.signals.connect(session.item_scraped, signal=signals.item_scraped)
        return session

    def open(self) -> None:
        super().open()
        self.committing.start(self.commit_interval, now=False)

    def close(self, reason: str = "finished") -> None:
        if self.committing.running:
            self.committing.stop()
        super().close(reason)

    def commit(self) -> None:
        """Make what was archived since the last commit durable, then tell the cluster: the
        requests handled leave the in-flight set, the articles stored join the knowledge. The
        scheduler commits last as the spider closes. A crash before a commit costs refetching
        a second's worth of pages, never a page archived nowhere."""
        if not self.opened or not (self.handled or self.learned):
            return
        self.warc.sync()
        handled, self.handled = self.handled, []
        learned, self.learned = self.learned, {}
        self.cluster.remember(self.portal.id, learned)
        try:
            self.frontier.ack(handled)
        except LeaseLost:
            lease = self.crawler.get_extension(PortalLease)
            if lease is not None:
                lease.lost()

    def new_run_id(self) -> int | None:
        return self.cluster.new_run_id()

    def warc_prefix(self) -> str:
        # portal-archive-<portal>-<worker>-<time>-<serial>.warc.gz: unique across the cluster.
        return f"{super().warc_prefix()}-{re.sub(r'[^A-Za-z0-9.-]', '_', self.worker)}"

    def stored_articles(self) -> dict[str, dict[str, Any]]:
        captures = super().stored_articles()
        self.known = self.cluster.known(self.portal.id)
        captures.update({url: {"validators": known.get("validators", {})}
                         for url, known in self.known.items()})
        return captures

    def previous_capture(self, url: str, digest: str | None = None) -> dict[str, Any] | None:
        found = super().previous_capture(url, digest)
        known = self.known.get(url)
        if found is None and known and known.get("record_id") and (
                digest is None or known["payload_digest"] == digest):
            found = {k: known[k] for k in ("record_id", "url", "time", "payload_digest")}
        return found

    def not_modified(self, url: str, time: str) -> bool:
        if super().not_modified(url, time):
            return True
        if url in self.known:  # stored by another worker: unchanged all the same
            self.counts["unchanged"] += 1
            return True
        return False

    def stored_template(self) -> str | None:
        return self.cluster.template(self.portal.host) or super().stored_template()

    def save_template(self, data: str) -> None:
        super().save_template(data)
        self.cluster.save_template(self.portal.host, data)

    def add_alternate_urls(self, alternates: dict[str, list[str]]) -> None:
        super().add_alternate_urls(alternates)
        # Other URLs of a stored article are known too (and asked for no more).
        self.cluster.remember(self.portal.id, {
            other: {} for others in alternates.values() for other in others
            if clean_url(other) not in self.known})

    def item_scraped(self, item: dict[str, Any], response: Response) -> None:
        """An article is stored: the cluster knows it from now on."""
        record = item.get("warc_record")
        if record is None:
            return
        capture = {"url": response.url, "record_id": record.record_id, "time": item["warc_date"],
                   "payload_digest": record.payload_digest,
                   "validators": validators(response_head(response))}
        urls = {clean_url(response.url), item["url"]}
        self.known.update(dict.fromkeys(urls, capture))
        self.learned.update(dict.fromkeys(urls, capture))
