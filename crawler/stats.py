"""Reading a crawl's Scrapy stats: the keys Scrapy and our components count under, turned into
the plain figures the archive keeps for a run (``archive/runs.py`` knows no Scrapy key)."""

from __future__ import annotations

from typing import Any

# Scrapy stats prefixes counted as errors, by the kind they name.
EXCEPTION_PREFIX = "downloader/exception_type_count/"
STATUS_PREFIX = "downloader/response_status_count/"
SPIDER_EXCEPTION_PREFIX = "spider_exceptions/"


def errors_by_kind(stats: dict[str, Any]) -> dict[str, int]:
    """Errors of one crawl from its Scrapy stats: exceptions by class, HTTP 4xx/5xx answers
    (every attempt counts), retries given up, exceptions in the spider."""
    errors: dict[str, int] = {}
    for key, value in stats.items():
        if key.startswith(EXCEPTION_PREFIX):
            kind = key[len(EXCEPTION_PREFIX):].rsplit(".", 1)[-1]
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
