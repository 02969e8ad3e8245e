"""Write every request and response to WARC as it came off the wire.

This middleware sits closest to the downloader, so it sees responses before Scrapy
decompresses them or follows their redirects: 404s, 500s and 301s are archived too,
and a gzipped body stays gzipped, with its ``Content-Encoding``.
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from warcio.statusandheaders import StatusAndHeaders

from archive.diskerrors import WRITE_ERRORS
from archive.warc import payload_digest, warc_date
from crawler.extensions import required_extension
from crawler.extensions.session import ArchiveSession

# Twisted has already removed the chunk framing from the body; saying "chunked" would make
# WARC readers try to de-chunk it again.
DROPPED_RESPONSE_HEADERS = {b"transfer-encoding"}


def _headers(headers: object) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers.items():  # type: ignore[attr-defined]
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs


def request_head(request: Request) -> StatusAndHeaders:
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", parts.netloc)] + [
        (k, v) for k, v in _headers(request.headers) if k.lower() != "proxy-authorization"
    ]
    return StatusAndHeaders(f"{request.method} {target} HTTP/1.1", headers, is_http_request=True)


def response_head(response: Response) -> StatusAndHeaders:
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    protocol = response.protocol or "HTTP/1.1"
    headers = [
        (k, v) for k, v in _headers(response.headers)
        if k.lower().encode() not in DROPPED_RESPONSE_HEADERS
    ]
    return StatusAndHeaders(f"{response.status} {reason}".strip(), headers, protocol=protocol)


class WarcCaptureMiddleware:
    """Archive each response: in full, or as a ``revisit`` when its payload was archived
    before for the same URL (or the server answered 304 Not Modified)."""

    def __init__(self, crawler: Crawler, session: ArchiveSession) -> None:
        self.crawler = crawler
        self.session = session
        self.revisits = crawler.settings.getbool("ARCHIVE_REVISITS", True)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        return cls(crawler, required_extension(crawler, ArchiveSession))

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if self.session.failure is not None:
            raise IgnoreRequest("the archive cannot be written")
        try:
            return self.archive(request, response)
        except WRITE_ERRORS as e:
            self.session.write_failed(e)
            raise IgnoreRequest("the archive cannot be written") from None

    def archive(self, request: Request, response: Response) -> Response:
        session = self.session
        date = warc_date()
        previous = None
        if self.revisits and response.status == 304:
            previous = session.previous_capture(response.url)
        elif self.revisits and 200 <= response.status < 300:
            previous = session.previous_capture(response.url, payload_digest(response.body))
        if previous is not None:
            response_ptr, _ = session.warc.revisit(
                response.url, digest=previous["payload_digest"], refers_to=previous,
                request_head=request_head(request), request_body=request.body,
                response_head=response_head(response), date=date,
                not_modified=response.status == 304,
            )
            self.crawler.stats.inc_value("archive/revisits")
            # The spider never sees a 304 (HttpErrorMiddleware drops it): the article the
            # page holds is unchanged, and counted here.
            if response.status == 304 and session.not_modified(response.url, date):
                self.crawler.stats.inc_value("archive/articles/unchanged")
        else:
            response_ptr, _ = session.warc.request_response(
                response.url,
                request_head=request_head(request),
                request_body=request.body,
                response_head=response_head(response),
                response_body=response.body,
                date=date,
            )
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        session.add_capture(response.url, response_ptr, status=response.status,
                            content_type=content_type, time=date)
        self.crawler.stats.inc_value("archive/records_written", 2)
        request.meta["warc_record"] = response_ptr
        request.meta["warc_date"] = date
        return response
