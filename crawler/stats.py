"""Reading a crawl's Scrapy stats: the keys Scrapy and our components count under, turned into
the plain figures the archive keeps for a run (``archive/runs.py`` knows no Scrapy key)."""

from __future__ import annotations

from typing import Any

# Download failures by the exception class names Scrapy and Twisted raise (Scrapy 2.19 wraps
# Twisted's in its own), as the reason a person would name. Counted under bad_input/<reason>
# (crawler/middlewares/badinput.py) and kept in the run's errors (archive/health.py words them).
FAILURE_REASONS = {
    "DownloadCancelledError": "too_large",
    "DownloadTimeoutError": "timeout", "TimeoutError": "timeout", "TCPTimedOutError": "timeout",
    "DownloadFailedError": "connection_reset", "ResponseFailed": "connection_reset",
    "ResponseDataLossError": "connection_reset", "ConnectionLost": "connection_reset",
    "ConnectionResetError": "connection_reset", "PotentialDataLoss": "connection_reset",
    "ConnectionDone": "connection_reset",
    "ResponseNeverReceived": "no_response",
    "CannotResolveHostError": "dns", "DNSLookupError": "dns",
    "DownloadConnectionRefusedError": "refused", "ConnectionRefusedError": "refused",
    "ConnectError": "cannot_connect",
    # Dropped on purpose (robots.txt, out of scope, a bad answer named under bad_input/).
    "IgnoreRequest": "ignored",
    # Dropped by a crawl that was stopping, and kept for its next run: not the portal's doing.
    "Abandoned": "abandoned",
}


UNKNOWN_FAILURE = "download_failed"  # a failure no reason above names (its class is logged)


def failure_reason(exception_name: str) -> str:
    """The reason for a download that failed with this exception class: one of the reasons
    the README documents, never a class name of Scrapy's or Twisted's of the day."""
    return FAILURE_REASONS.get(exception_name, UNKNOWN_FAILURE)


# Scrapy stats prefixes counted as errors, by the kind they name.
EXCEPTION_PREFIX = "downloader/exception_type_count/"
STATUS_PREFIX = "downloader/response_status_count/"
SPIDER_EXCEPTION_PREFIX = "spider_exceptions/"


def errors_by_kind(stats: dict[str, Any]) -> dict[str, int]:
    """Errors of one crawl from its Scrapy stats: download failures by reason, HTTP 4xx/5xx
    answers (every attempt counts), retries given up, exceptions in the spider."""
    errors: dict[str, int] = {}
    for key, value in stats.items():
        if key.startswith(EXCEPTION_PREFIX):
            kind = failure_reason(key[len(EXCEPTION_PREFIX):].rsplit(".", 1)[-1])
        elif key.startswith(STATUS_PREFIX) and key[len(STATUS_PREFIX):][:1] in ("4", "5"):
            kind = f"http_{key[len(STATUS_PREFIX):]}"
        elif key.startswith(SPIDER_EXCEPTION_PREFIX) and key != "spider_exceptions/count":
            kind = "spider_" + key[len(SPIDER_EXCEPTION_PREFIX):]
        elif key == "retry/max_reached":
            kind = "retry_max_reached"
        else:
            continue
        errors[kind] = errors.get(kind, 0) + int(value)
    return dict(sorted(errors.items()))


def counts_under(stats: dict[str, Any], prefix: str) -> dict[str, int]:
    """``{reason: n}`` of the keys ``prefix<reason>`` (``discovery/skipped/``, ``bad_input/``)."""
    return {key[len(prefix):]: value for key, value in stats.items() if key.startswith(prefix)}


def articles_by_change(stats: dict[str, Any]) -> dict[str, int]:
    """Articles the crawl stored: new, changed, and fetched again unchanged (304s included)."""
    return {change: stats.get(f"archive/articles/{change}", 0)
            for change in ("new", "changed", "unchanged")}


def failed_requests(stats: dict[str, Any]) -> int:
    """Requests given up: errors logged, retries exhausted, HTTP errors left unhandled."""
    return stats.get("log_count/ERROR", 0) + sum(
        value for key, value in stats.items()
        if key.startswith("retry/max_reached") or key == "httperror/response_ignored_count")
