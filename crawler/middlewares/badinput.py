"""Bad input from portals: named, counted, and never a traceback.

Two downloader middlewares, both counting into the ``bad_input/<reason>`` crawl stats:

- ``BadResponseMiddleware`` sits just above Scrapy's redirect and decompression middlewares,
  so it sees each response as archived: a redirect loop, a gzip bomb;
- ``BadContentMiddleware`` sits just below decompression, so it sees the body as a browser
  would: an empty 200, binary bytes served as HTML, a charset header that contradicts the
  page, a DTD with entities in XML (stripped, so the sitemap's URLs still count);
- ``BadDownloadMiddleware`` sits below the retry middleware, so it sees a download only once
  every retry has failed: it names the failure (too large, timeout, connection reset, ...)
  and drops the request quietly instead of letting Scrapy log a traceback.
"""

from __future__ import annotations

import logging
import re
import struct
import zlib
from urllib.parse import urljoin

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

from crawler import resolver
from crawler.stats import failure_reason

logger = logging.getLogger(__name__)

_DTD_SUBSET = re.compile(rb"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.S)

def looks_binary(body: bytes) -> bool:
    """NUL bytes, or mostly bytes that are neither ASCII text nor UTF-8/legacy letters."""
    head = body[:2048]
    if b"\0" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    return len(head) > 0 and controls > 0.05 * len(head)


def inflates_past(body: bytes, limit: int) -> bool:
    """Whether the gzip ``body`` inflates to more than ``limit`` bytes (read in steps, so that
    a bomb is never inflated whole)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    size, pending = 0, body
    try:
        while pending and size <= limit:
            size += len(inflater.decompress(pending, 1 << 20))
            pending = inflater.unconsumed_tail
    except zlib.error:
        return False
    return size > limit


class _Counting:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> _Counting:
        return cls(crawler)

    def count(self, reason: str, url: str) -> None:
        self.crawler.stats.inc_value(f"bad_input/{reason}")
        logger.warning("bad input (%s): %s", reason, url)


class BadResponseMiddleware(_Counting):
    def process_response(self, request: Request, response: Response,
                         spider: object = None) -> Response:
        status, body = response.status, response.body
        if 300 <= status < 400 and b"Location" in response.headers:
            try:
                target = urljoin(request.url, response.headers[b"Location"].decode("latin-1"))
            except ValueError:  # Location: http://[domain]/
                self.count("malformed_redirect", request.url)
                raise IgnoreRequest(f"malformed redirect at {request.url}") from None
            if not target.lower().startswith(("http://", "https://")) and \
                    not request.meta.get("handle_httpstatus_all"):
                # Scrapy would drop it quietly; a portal pointing at file: or ftp: is named.
                self.crawler.stats.inc_value("refused/scheme")
                logger.warning("refused (scheme): %s (redirect from %s)", target[:300], request.url)
                raise IgnoreRequest(f"redirect to {target[:300]}")
            if target in [*request.meta.get("redirect_urls", []), request.url]:
                self.count("redirect_loop", request.url)
                raise IgnoreRequest(f"redirect loop at {request.url}")
            return response
        if status != 200:
            return response
        encoding = response.headers.get(b"Content-Encoding", b"").lower()
        max_size = request.meta.get("download_maxsize",
                                    self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        if encoding in (b"gzip", b"x-gzip") and len(body) >= 4 and max_size and \
                struct.unpack("<I", body[-4:])[0] > max_size:
            # The gzip trailer gives the inflated size; Scrapy refuses it, we name it. A body
            # cut short ends in compressed data, not in a trailer: inflating it says which.
            if inflates_past(body, max_size):
                self.count("decompression_bomb", request.url)
                raise IgnoreRequest(f"gzip bomb at {request.url}")
            self.count("truncated", request.url)
        return response


class BadContentMiddleware(_Counting):
    def process_response(self, request: Request, response: Response,
                         spider: object = None) -> Response:
        if response.status != 200:
            return response
        body = response.body
        if not body:
            self.count("empty", request.url)
            return response
        content_type = response.headers.get(b"Content-Type", b"").lower()
        if b"html" in content_type:
            if looks_binary(body):
                self.count("binary_as_html", request.url)
                return response
            # Read as the cleaners read them (w3lib, cleaners/decode.py): labels resolved to
            # codecs, so "latin1" and "windows-1252" agree, as browsers have them agree.
            declared = http_content_type_encoding(content_type.decode("latin-1"))
            meta = html_body_declared_encoding(body[:4096])
            if declared and meta and declared != meta:
                self.count("charset_mismatch", request.url)
        if b"xml" in content_type or body.lstrip()[:5] == b"<?xml":
            stripped = _DTD_SUBSET.sub(b"", body[:65536], count=1) + body[65536:]
            if stripped != body:
                self.count("xml_entities", request.url)
                return response.replace(body=stripped)
        return response


class BadDownloadMiddleware(_Counting):
    def process_exception(self, request: Request, exception: Exception,
                          spider: object = None) -> None:
        if isinstance(exception, IgnoreRequest):
            return None
        reason = failure_reason(type(exception).__name__)
        if reason == "dns" and urlparse_cached(request).hostname in resolver.refused:
            # Resolved to a private address: refused, not broken (crawler/resolver.py).
            self.crawler.stats.inc_value("refused/private_address")
            logger.warning("refused (private_address): %s", request.url[:300])
        else:
            self.count(reason, request.url)
            logger.debug("%s: %s: %s", request.url[:300], type(exception).__name__, exception)
        raise IgnoreRequest(f"{reason}: {exception}")
