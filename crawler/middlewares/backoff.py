"""Back off when a portal says it is busy or fails: its host's delay grows, then recovers.

A 429 or 503 with ``Retry-After`` sets the host's delay to what the server asked for (capped
by ``BACKOFF_MAX_DELAY``); any other retryable answer or a failed download doubles it. The
first success restores the delay the host had before. Scrapy's retry middleware (just
below) resends the request; this one makes sure the resend waits.
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

logger = logging.getLogger(__name__)


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
        self.codes = {int(c) for c in settings.getlist("RETRY_HTTP_CODES")}
        self.max_delay = settings.getfloat("BACKOFF_MAX_DELAY")
        self.first_delay = settings.getfloat("BACKOFF_FIRST_DELAY")
        self.normal: dict[str, tuple[float, float]] = {}  # slot -> (delay, jitter) before
        self.since: dict[str, float] = {}  # slot -> when it last backed off

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler)

    def _slot(self, request: Request) -> tuple[str, object | None]:
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        return key, downloader.slots.get(key)

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
        if status in (429, 503) and b"Retry-After" in response.headers:
            seconds = retry_after_seconds(response.headers[b"Retry-After"].decode("latin-1"))
            if seconds is not None:
                # Slot delays run from when a request was sent; Retry-After from the answer.
                seconds += request.meta.get("download_latency", 0.0)
            self.back_off(request, seconds, f"HTTP {status} with Retry-After")
        elif status in self.codes:
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
        self.back_off(request, None, type(exception).__name__)
