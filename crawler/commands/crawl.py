"""``scrapy crawl``, as Scrapy runs it, with a portal crawl's failures said in one line and its
exit status: 2 when the arguments name no portal (or ``CLEANERS_CONFIG`` is no usable file),
3 when another crawl holds the data directory's lock, 5 when the archive could not be written
(disk full) (the statuses of ``portal-archive crawl``). With ``-s REDIS_URL=...`` and no portal
named, the process is a worker of the distributed crawl, as ``portal-archive crawl --redis``
makes it.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler
from scrapy.spiders import Spider

from crawler.distributed.cluster import worker_id
from crawler.distributed.worker import Worker
from crawler.extensions.session import LOCKED
from crawler.reading import check_cleaners_config
from crawler.registry import RegistryError, named_portal
from crawler.spiders.portal import PortalSpider

EXIT_USAGE, EXIT_LOCKED, EXIT_WRITE = 2, 3, 5
PORTAL_ARGUMENTS = ("portal", "url", "province", "district")


class Command(ScrapyCrawlCommand):
    crawler: Crawler | None = None

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if (args == [PortalSpider.name] and self.settings.get("REDIS_URL")
                and not any(k in opts.spargs for k in PORTAL_ARGUMENTS)):
            # ``scrapy crawl portal -s REDIS_URL=...`` names no portal: a worker of the
            # distributed crawl, taking its portals from the queue (crawler/distributed/).
            self.settings.set("REDIS_WORKER_ID", self.settings.get("REDIS_WORKER_ID")
                              or worker_id(), priority="cmdline")
            Worker(self.crawler_process, self.settings).run()
            return
        if args == [PortalSpider.name]:
            try:
                named_portal(**{k: v for k, v in opts.spargs.items() if k in PORTAL_ARGUMENTS})
                assert self.settings is not None
                check_cleaners_config(self.settings.get("CLEANERS_CONFIG"))
            except (RegistryError, ValueError) as e:
                print(f"error: {e}", file=sys.stderr)
                self.exitcode = EXIT_USAGE
                return
        super().run(args, opts)
        stats = self.crawler.stats if self.crawler else None
        if stats is not None and stats.get_value("finish_reason") == LOCKED:
            self.exitcode = EXIT_LOCKED
        elif stats is not None and stats.get_value("archive/write_error"):
            self.exitcode = EXIT_WRITE

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler
