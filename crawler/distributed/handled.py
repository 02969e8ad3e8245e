"""When is a request done? When its page was read, its links queued and its article stored.

Scrapy sends no signal for that moment, so this spider middleware, the outermost one, adds
one more output after the page's own: a ``handled`` marker that the scheduler takes as "done"
(crawler/distributed/scheduler.py) and never queues. Scrapy handles a callback's outputs one
after another (``CONCURRENT_ITEMS = 1``, which the distributed crawl enforces), so the marker
comes after the last link was queued and the last article stored.

A download that failed for good is not marked: it stays under way until the portal's run
ends, and a worker that takes the portal over tries it once more. So does a request dropped
by a crawl that stops early, which is then fetched by whoever takes the portal next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK

from crawler.distributed.requests import REQUEST_ID

HANDLED = "frontier_handled"


def marker(response: Response) -> Request | None:
    """The marker that the request of ``response`` is handled (None if it is no frontier's)."""
    request_id = response.request.meta.get(REQUEST_ID) if response.request else None
    if request_id is None:
        return None
    return Request(response.url, callback=NO_CALLBACK, dont_filter=True,
                   meta={HANDLED: request_id})


class HandledResponses:
    """Spider middleware: after a response's outputs, the marker that it was handled."""

    def process_spider_output(self, response: Response, result: Iterable[Any],
                              spider: object = None) -> Iterable[Any]:
        yield from result
        done = marker(response)
        if done is not None:
            yield done

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any],
                                          spider: object = None) -> AsyncIterator[Any]:
        async for output in result:
            yield output
        done = marker(response)
        if done is not None:
            yield done
