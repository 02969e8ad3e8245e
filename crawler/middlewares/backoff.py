"""Back off when a portal fails: the failing URL waits longer before each new try, and the whole
host slows down only when the server says it is busy.

Per URL: each failure (a retryable status or a failed download) makes the URL's next try wait
``BACKOFF_FIRST_DELAY`` seconds, doubled after each failure of that URL, capped by
``BACKOFF_MAX_DELAY``; the other URLs of the host go on meanwhile. A broken page (a script that
answers 500, a URL that hangs) so costs its own retries a few seconds, and its host nothing.

Per host: a 429 or 503 says the server is busy. ``Retry-After`` sets the host's delay to what
the server asked for (capped by ``BACKOFF_MAX_DELAY``); without it, the first such answer for a
URL doubles the host's delay. A URL that is busy again on its retry is that URL's trouble: it
doubles its own wait, not the host's, so the host's delay stops growing once only broken URLs
are left. The first success sent after a backoff began restores the host's delay.

Scrapy's retry middleware (just below) resends the request; this one makes the resend wait. A
stopping crawl ends every wait at once (crawler/extensions/stopping.py).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.extensions.stopping import Stopping

logger = logging.getLogger(__name__)

BUSY = (429, 503)


def retry_after_seconds(value: str) -> float | None:
    """``Retry-After`` as seconds: a number of seconds, or an HTTP date."""
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() too, which float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class BackoffMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stopping = crawler.get_extension(Stopping)
        self.codes = {int(c) for c in settings.getlist("RETRY_HTTP_CODES")}
        self.max_delay = settings.getfloat("BACKOFF_MAX_DELAY")
        self.first_delay = settings.getfloat("BACKOFF_FIRST_DELAY")
        self.normal: dict[str, tuple[float, float]] = {}  # slot -> (delay, jitter) before
        self.since: dict[str, float] = {}  # slot -> when it last backed off
        self.failures: dict[str, int] = {}  # url -> its failures so far
        self.due: dict[str, float] = {}  # url -> when its next try may be sent

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler)

    def _slot(self, request: Request) -> tuple[str, object | None]:
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        return key, downloader.slots.get(key)

    async def process_request(self, request: Request, spider: object = None) -> None:
        wait = self.due.pop(request.url, 0.0) - time.monotonic()
        if wait > 0:
            self.crawler.stats.inc_value("politeness/url_backoff")
            if self.stopping is not None:
                await self.stopping.sleep(wait)  # ends early if the crawl stops

    def failed(self, request: Request, why: str) -> bool:
        """Count a failure of ``request``'s URL and make its next try wait; True the first time."""
        url = request.url
        failures = self.failures[url] = self.failures.get(url, 0) + 1
        wait = min(self.first_delay * 2 ** (failures - 1), self.max_delay)
        self.due[url] = time.monotonic() + wait
        logger.debug("%s: %s, its next try in %.1f s", url, why, wait)
        return failures == 1

    def back_off(self, request: Request, seconds: float | None, why: str) -> None:
        key, slot = self._slot(request)
        if slot is None:
            return
        self.normal.setdefault(key, (slot.delay, getattr(slot, "jitter", 0.0)))
        self.since[key] = time.monotonic()
        wanted = seconds if seconds is not None else max(self.first_delay, slot.delay * 2)
        slot.delay = min(max(slot.delay, wanted), self.max_delay)
        slot.jitter = 0.0  # a random shorter wait would not be what the server asked for
        request.meta["autothrottle_dont_adjust_delay"] = True
        self.crawler.stats.inc_value("politeness/backoff")
        self.crawler.stats.max_value("politeness/backoff_max_delay", slot.delay)
        logger.info("%s: %s, waiting %.1f s between requests", key, why, slot.delay)

    def process_response(self, request: Request, response: Response,
                         spider: object = None) -> Response:
        status = response.status
        if status in self.codes or status in BUSY:
            first = self.failed(request, f"HTTP {status}")
            seconds = None
            if status in BUSY and b"Retry-After" in response.headers:
                seconds = retry_after_seconds(response.headers[b"Retry-After"].decode("latin-1"))
            if seconds is not None:
                # Slot delays run from when a request was sent; Retry-After from the answer.
                self.back_off(request, seconds + request.meta.get("download_latency", 0.0),
                              f"HTTP {status} with Retry-After")
            elif status in BUSY and first:
                self.back_off(request, None, f"HTTP {status}")
        elif status < 400:
            key, slot = self._slot(request)
            # Only an answer to a request sent after the backoff began says the host is well:
            # requests already in flight when it failed may still come back fine.
            sent = time.monotonic() - request.meta.get("download_latency", 0.0)
            if key in self.normal and slot is not None and sent >= self.since[key]:
                slot.delay, slot.jitter = self.normal.pop(key)
        return response

    def process_exception(self, request: Request, exception: Exception,
                          spider: object = None) -> None:
        if isinstance(exception, IgnoreRequest):  # refused here (robots.txt, scope): not sick
            return
        self.failed(request, type(exception).__name__)
