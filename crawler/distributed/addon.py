"""The Scrapy add-on that makes a portal's crawl one worker's part of a distributed crawl when
``REDIS_URL`` is set (``-s REDIS_URL=redis://HOST:PORT/DB``), and does nothing otherwise."""

from __future__ import annotations

from scrapy.settings import BaseSettings

from crawler.distributed.handled import HandledResponses
from crawler.distributed.lease import PortalLease
from crawler.distributed.session import WorkerSession
from crawler.extensions.session import ArchiveSession


class DistributedCrawl:
    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("REDIS_URL"):
            return
        # Above the project's settings: the queue lives in Redis, never in a job directory,
        # and a response's outputs are handled in order (crawler/distributed/handled.py).
        settings.set("SCHEDULER", "crawler.distributed.scheduler.FrontierScheduler", "cmdline")
        settings.set("PORTAL_RESUME", False, "cmdline")
        settings.set("CONCURRENT_ITEMS", 1, "cmdline")
        settings.replace_in_component_priority_dict("EXTENSIONS", ArchiveSession, WorkerSession)
        # Before the session: the portal is this worker's before its archive opens.
        settings.set_in_component_priority_dict("EXTENSIONS", PortalLease, -110)
        # The outermost spider middleware: it sees the last of a response's outputs.
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", HandledResponses, 1)
