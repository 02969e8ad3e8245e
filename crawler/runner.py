"""Run crawls of several portals in one process and report what each one did."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.extensions.session import ArchiveSession
from crawler.registry import Portal
from crawler.spiders.portal import PortalSpider
from crawler.stats import articles_by_change, counts_under, failed_requests

# Loopback fixture servers are ours to load: these replace the politeness defaults there.
FIXTURE_SETTINGS = {
    "DOWNLOAD_DELAY": 0.0,
    "ROBOTSTXT_CRAWL_DELAY_MAX": 0.2,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
    "RETRY_TIMES": 2,
    "BACKOFF_FIRST_DELAY": 0.1,
    "BACKOFF_MAX_DELAY": 2.0,
}


@dataclass
class CrawlSummary:
    portal: str
    pages: int
    articles: int
    new: int
    changed: int
    unchanged: int  # article pages fetched again whose text had not changed
    not_modified: int  # article pages the server answered 304 Not Modified for
    failed: int  # requests given up (errors, timeouts, 4xx/5xx after retries)
    skipped: dict[str, int]  # URLs not requested, by reason (discovery/skipped/<reason>)
    bad_input: dict[str, int]  # pages answered badly, by reason (bad_input/<reason>)
    refused: dict[str, int]  # requests out of scope, by reason (refused/<reason>)
    limits_reached: list[str]  # the limits that kept URLs from being requested, said in words
    warc_bytes: int
    seconds: float
    finish_reason: str
    write_error: str | None = None  # the archive could not be written: why, in one line


# Skip reasons that mean a limit, not a trap, stopped discovery: new articles may be missed.
DISCOVERY_LIMITS = {"url_shape_limit": "PORTAL_URL_SHAPE_LIMIT", "max_pages": "PORTAL_MAX_PAGES"}


def limits_reached(skipped: dict[str, int], settings: Settings) -> list[str]:
    return [f"{skipped[reason]} URLs not requested: {name} = {settings.get(name)} reached"
            for reason, name in DISCOVERY_LIMITS.items() if skipped.get(reason)]


def project_settings(data_dir: Path, overrides: dict[str, Any] | None = None) -> Settings:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.set("ARCHIVE_DATA_DIR", str(data_dir), priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def known_settings() -> dict[str, Any]:
    """Every setting Scrapy and this project define, with its default."""
    return project_settings(Path()).copy_to_dict()


def spider_class(portal: Portal) -> type[PortalSpider]:
    """The spider class to crawl ``portal`` with: its per-portal settings enter at Scrapy's
    "spider" priority, as custom_settings do."""
    if not portal.settings:
        return PortalSpider
    return type("PortalSpider", (PortalSpider,), {"custom_settings": dict(portal.settings)})


def crawl(portals: list[Portal], settings: Settings) -> list[CrawlSummary]:
    """Crawl ``portals`` side by side (one Scrapy crawler each) and wait for all of them."""
    process = CrawlerProcess(settings)
    crawlers = []
    started = time.monotonic()
    for portal in portals:
        crawler = process.create_crawler(spider_class(portal))
        crawlers.append((portal, crawler))
        process.crawl(crawler, portal=portal)
    process.start()
    for _, crawler in crawlers:
        # Still open if a second Ctrl-C stopped the process at once.
        with contextlib.suppress(RuntimeError):  # a crawler that never started has none
            session = crawler.get_extension(ArchiveSession)
            if session is not None:
                session.close_after_forced_stop()
    summaries = []
    for portal, crawler in crawlers:
        stats = crawler.stats.get_stats()
        seconds = (stats["finish_time"] - stats["start_time"]).total_seconds() if (
            "finish_time" in stats and "start_time" in stats) else time.monotonic() - started
        articles = articles_by_change(stats)
        summaries.append(CrawlSummary(
            portal=portal.id,
            pages=stats.get("downloader/response_count", 0),
            articles=sum(articles.values()),
            new=articles["new"],
            changed=articles["changed"],
            unchanged=articles["unchanged"],
            not_modified=stats.get("crawl/pages/not_modified", 0),
            failed=failed_requests(stats),
            skipped=counts_under(stats, "discovery/skipped/"),
            bad_input=counts_under(stats, "bad_input/"),
            refused=counts_under(stats, "refused/"),
            limits_reached=limits_reached(counts_under(stats, "discovery/skipped/"),
                                          crawler.settings),
            warc_bytes=stats.get("archive/warc_bytes", 0),
            seconds=round(seconds, 1),
            finish_reason=stats.get("finish_reason", "unknown"),
            write_error=stats.get("archive/write_error"),
        ))
    return summaries
