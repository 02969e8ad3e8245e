"""Polite HTTP for web archives: one ``Fetcher`` per source, with its own request rate,
concurrency and retries.

A request is retried (tenacity) on 429, 5xx, connection resets, timeouts and bodies that fail
the caller's check (a torn WARC record), waiting ``Retry-After`` when the archive sends one and
an exponential backoff otherwise; a ``Retry-After`` also holds back every other request to the
source. A request that fails for good counts against the source: after ``give_up_after`` such
failures in a row the source is given up (``SourceFailing``), not retried forever.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import urllib3
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

logger = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504, 509, 520, 522, 524}


class Retryable(Exception):
    """One attempt failed in a way that may heal: the request is tried again."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class FetchFailed(Exception):
    """A request failed on every attempt; the message says how."""


class SourceFailing(Exception):
    """The source failed too many requests in a row: it is given up for this run."""


@dataclass
class Response:
    url: str
    status: int
    headers: list[tuple[str, str]]  # as sent, in order
    body: bytes  # as sent (no Content-Encoding removed)

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class FetchStats:
    requests: int = 0  # attempts sent
    retries: int = 0
    failed: int = 0  # requests failed for good
    waited: float = 0.0  # seconds spent waiting for the rate limit or a backoff
    reasons: dict[str, int] = field(default_factory=dict)  # failed attempts by reason


class Fetcher:
    def __init__(self, *, interval: float, concurrency: int, user_agent: str,
                 attempts: int = 5, backoff_first: float = 5.0, backoff_max: float = 300.0,
                 give_up_after: int = 10, timeout: float = 60.0,
                 max_size: int = 100 * 1024**2) -> None:
        self.interval = interval
        self.attempts = max(1, attempts)
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.give_up_after = give_up_after
        self.max_size = max_size
        self.headers = {"User-Agent": user_agent, "Accept-Encoding": "identity"}
        self.pool = urllib3.PoolManager(num_pools=4, maxsize=max(1, concurrency), block=True,
                                        retries=False, timeout=urllib3.Timeout(timeout))
        self.stats = FetchStats()
        self._lock = threading.Lock()
        self._next_start = 0.0  # monotonic time before which no request may start
        self._failures_in_a_row = 0
        self.given_up: str | None = None
        self.counted = (0, 0)  # (requests, retries) when the current portal began

    @classmethod
    def for_source(cls, source: Any, settings: dict[str, Any]) -> Fetcher:
        return cls(interval=source.interval, concurrency=source.concurrency,
                   user_agent=settings["USER_AGENT"], attempts=int(settings["RECOVER_ATTEMPTS"]),
                   backoff_first=float(settings["RECOVER_BACKOFF_FIRST_DELAY"]),
                   backoff_max=float(settings["RECOVER_BACKOFF_MAX_DELAY"]),
                   give_up_after=int(settings["RECOVER_GIVE_UP_AFTER"]),
                   timeout=float(settings["RECOVER_TIMEOUT"]),
                   max_size=int(settings["RECOVER_MAX_SIZE"]))

    def get(self, url: str, *, headers: dict[str, str] | None = None,
            check: Callable[[Response], None] | None = None,
            ok: tuple[int, ...] = (200,)) -> Response:
        """GET ``url``; a status outside ``ok`` and the retry statuses is returned as is.
        ``check`` may raise ``Retryable`` for a body that came incomplete."""
        if self.given_up:
            raise SourceFailing(self.given_up)
        retrying = Retrying(retry=retry_if_exception_type(Retryable),
                            stop=stop_after_attempt(self.attempts), wait=self._wait,
                            before_sleep=self._log_retry, reraise=True)
        try:
            response = retrying(self._attempt, url, headers or {}, check, ok)
        except Retryable as e:
            self.stats.failed += 1
            with self._lock:
                self._failures_in_a_row += 1
                if self._failures_in_a_row >= self.give_up_after:
                    self.given_up = (f"{self._failures_in_a_row} requests in a row failed "
                                     f"(last: {url}: {e.reason})")
            raise FetchFailed(f"{url}: {e.reason} ({self.attempts} attempts)") from None
        with self._lock:
            self._failures_in_a_row = 0
        return response

    def _attempt(self, url: str, headers: dict[str, str],
                 check: Callable[[Response], None] | None, ok: tuple[int, ...]) -> Response:
        self._wait_turn()
        try:
            raw = self.pool.request("GET", url, headers={**self.headers, **headers},
                                    preload_content=False, decode_content=False,
                                    redirect=False)
            try:
                body = raw.read(self.max_size + 1, decode_content=False)
            finally:
                raw.release_conn()
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise self._failed(type(e).__name__) from None
        if len(body) > self.max_size:
            raise FetchFailed(f"{url}: larger than {self.max_size} bytes")
        response = Response(url, raw.status, list(raw.headers.items()), body)
        promised = response.header("Content-Length")
        if promised and promised.isdigit() and int(promised) != len(body):
            # The connection closed before the body was whole.
            raise self._failed("truncated body")
        if raw.status in RETRY_STATUSES:
            raise self._failed(f"HTTP {raw.status}", retry_after(response.header("Retry-After")))
        if raw.status in ok and check is not None:
            try:
                check(response)
            except Retryable as e:
                raise self._failed(e.reason) from None
        return response

    def _failed(self, reason: str, retry_after: float | None = None) -> Retryable:
        self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1
        if retry_after is not None:
            # The archive asked every client of it to wait, not just this request.
            with self._lock:
                wait = min(retry_after, self.backoff_max)
                self._next_start = max(self._next_start, time.monotonic() + wait)
        return Retryable(reason, retry_after)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        backoff = min(self.backoff_first * 2 ** (state.attempt_number - 1), self.backoff_max)
        after = getattr(error, "retry_after", None)
        return min(after, self.backoff_max) if after is not None else backoff

    def _log_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        self.stats.waited += wait
        logger.info("retrying in %.1fs after %s (attempt %d)", wait,
                    getattr(error, "reason", error), state.attempt_number)

    def _wait_turn(self) -> None:
        """Hold the request until the source's rate allows it to start."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self.interval
            self.stats.requests += 1
        if start > now:
            self.stats.waited += start - now
            time.sleep(start - now)

    def close(self) -> None:
        self.pool.clear()


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
