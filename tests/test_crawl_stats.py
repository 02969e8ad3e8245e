"""A crawl's Scrapy stats read into the plain figures a run keeps."""

from __future__ import annotations

from crawler.stats import counts_under, errors_by_kind, failure_reason

STATS = {
    "downloader/exception_type_count/scrapy.exceptions.CannotResolveHostError": 2,
    "downloader/exception_type_count/twisted.internet.error.DNSLookupError": 1,
    "downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError": 3,
    "downloader/exception_type_count/builtins.OSError": 1,
    "downloader/response_status_count/200": 40,
    "downloader/response_status_count/404": 2,
    "downloader/response_status_count/503": 1,
    "retry/max_reached": 1,
    "spider_exceptions/ValueError": 1,
    "spider_exceptions/count": 1,
    "discovery/skipped/calendar": 7,
    "bad_input/timeout": 3,
}


def test_download_failures_are_kept_by_the_reason_a_person_would_name():
    # Scrapy 2.19 raises its own exceptions where Twisted's were raised before: one reason.
    assert errors_by_kind(STATS) == {
        "download_failed": 1, "dns": 3, "http_404": 2, "http_503": 1, "retry_max_reached": 1,
        "spider_ValueError": 1, "timeout": 3}


def test_the_middleware_and_the_run_name_a_failure_alike():
    assert failure_reason("DownloadConnectionRefusedError") == "refused"
    assert failure_reason("ConnectionRefusedError") == "refused"
    # A class no reason names yet is no reason itself: what a run keeps is documented words.
    assert failure_reason("SomethingNew") == "download_failed"
    assert failure_reason("IgnoreRequest") == "ignored"


def test_counts_under_a_prefix_are_by_reason():
    assert counts_under(STATS, "discovery/skipped/") == {"calendar": 7}
    assert counts_under(STATS, "bad_input/") == {"timeout": 3}
