"""Where recovered captures come from: the Internet Archive, Common Crawl, or any archive that
speaks the Wayback CDX API and replays raw captures under ``TIMESTAMPid_/URL``.

Public archives throttle and ban aggressive clients: every source has its own request rate and
concurrency, conservative by default. Override any of ``DEFAULTS`` by name (the CLI's
``-s NAME=VALUE``); the tests point the ``ia`` and ``cc`` endpoints at loopback servers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULTS: dict[str, Any] = {
    "RECOVER_IA_CDX": "https://web.archive.org/cdx/search/cdx",
    "RECOVER_IA_REPLAY": "https://web.archive.org/web/",
    "RECOVER_IA_RATE": 15,  # requests per minute: the Wayback Machine bans faster clients
    "RECOVER_IA_CONCURRENCY": 1,
    "RECOVER_CC_INDEX": "https://index.commoncrawl.org/collinfo.json",  # one CDX API per crawl
    "RECOVER_CC_DATA": "https://data.commoncrawl.org/",  # prefix of the WARC files
    "RECOVER_CC_RATE": 30,  # requests per minute (index and WARC ranges together)
    "RECOVER_CC_CONCURRENCY": 1,
    "RECOVER_RATE": 30,  # requests per minute for an archive given with --cdx/--replay
    "RECOVER_CONCURRENCY": 1,
    "RECOVER_ATTEMPTS": 5,  # tries of one request (429, 5xx, resets, torn records)
    "RECOVER_BACKOFF_FIRST_DELAY": 5.0,  # seconds after a first failure, doubled after each
    "RECOVER_BACKOFF_MAX_DELAY": 300.0,  # seconds: the longest wait, Retry-After included
    "RECOVER_GIVE_UP_AFTER": 10,  # requests failed for good in a row: the source is given up
    "RECOVER_TIMEOUT": 60.0,  # seconds before a silent archive is given up for one attempt
    "RECOVER_CDX_PAGE_SIZE": 5000,  # CDX lines asked for per page (Wayback resumption keys)
    "RECOVER_MAX_SIZE": 100 * 1024**2,  # bytes: larger captures are left out
    "USER_AGENT": "portal-archive/0.1 (+https://github.com/portal-archive/portal-archive)",
}

WAYBACK, COMMONCRAWL = "wayback", "commoncrawl"


class SourceError(ValueError):
    """A source that cannot be used as given (unknown name, missing replay prefix)."""


@dataclass(frozen=True, slots=True)
class Source:
    """One archive to recover from. ``name`` is what the index records as a capture's source."""

    name: str  # "ia", "cc" or the archive's own name
    kind: str  # WAYBACK: CDX + raw replay; COMMONCRAWL: CDX per crawl + WARC files by range
    cdx: str  # the CDX API endpoint (COMMONCRAWL: the collinfo.json listing the crawls)
    replay: str  # WAYBACK: the replay prefix; COMMONCRAWL: the WARC files' prefix
    rate: float  # requests per minute
    concurrency: int

    @property
    def interval(self) -> float:
        """Seconds between the starts of two requests."""
        return 60.0 / self.rate if self.rate > 0 else 0.0


def build(name: str, settings: dict[str, Any], *, cdx: str | None = None,
          replay: str | None = None) -> Source:
    """The source ``name`` (``ia``, ``cc``) or, with ``cdx`` (and ``replay`` to fetch from it),
    a Wayback-compatible archive called ``name``."""
    s = {**DEFAULTS, **settings}
    if cdx:
        return Source(name, WAYBACK, cdx, _slash(replay) if replay else "",
                      float(s["RECOVER_RATE"]), int(s["RECOVER_CONCURRENCY"]))
    if name == "ia":
        return Source("ia", WAYBACK, s["RECOVER_IA_CDX"], _slash(s["RECOVER_IA_REPLAY"]),
                      float(s["RECOVER_IA_RATE"]), int(s["RECOVER_IA_CONCURRENCY"]))
    if name == "cc":
        return Source("cc", COMMONCRAWL, s["RECOVER_CC_INDEX"], _slash(s["RECOVER_CC_DATA"]),
                      float(s["RECOVER_CC_RATE"]), int(s["RECOVER_CC_CONCURRENCY"]))
    raise SourceError(f"unknown source {name!r}: use ia, cc, or --cdx URL --replay URL")


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
