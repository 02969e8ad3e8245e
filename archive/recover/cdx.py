"""CDX API client: the captures an archive holds under a URL prefix or a domain.

Two dialects answer the same query: the Wayback CDX server (the Internet Archive: a JSON
array whose first row names the fields, paged with resumption keys) and pywb's (Common
Crawl and most other archives: one JSON object per line, paged with ``page`` and
``showNumPages``). ``captures`` speaks both, and filters and collapses on our side too, as
servers differ in which filters they honour.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from .fetch import Fetcher, Response, Retryable

# What the crawler archives: pages and the documents they link (crawler/spiders/portal.py).
DOCUMENT_TYPES = ("application/pdf", "application/msword", "application/vnd.ms-excel",
                  "application/vnd.ms-powerpoint", "application/vnd.openxmlformats",
                  "application/vnd.oasis.opendocument", "application/rtf", "application/zip",
                  "application/x-rar")
PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml",
              "text/xml", "application/rss+xml", "application/atom+xml")
# Wayback field names -> pywb's, which ``Capture`` uses.
IA_FIELDS = {"original": "url", "mimetype": "mime", "statuscode": "status"}


class CdxError(Exception):
    """The CDX API answered something that is not a CDX listing."""


@dataclass(frozen=True, slots=True)
class Capture:
    """One CDX line: a capture the archive holds."""

    url: str
    timestamp: str  # 14 digits, UTC
    mime: str
    status: int | None  # None for revisits and warc/* records
    digest: str  # sha1, base32, without the "sha1:" prefix
    fields: dict[str, Any]  # the whole line as the archive gave it (filename, offset...)

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Capture:
        status = str(fields.get("status", ""))
        return cls(url=fields["url"], timestamp=str(fields["timestamp"])[:14].ljust(14, "0"),
                   mime=(fields.get("mime") or "").split(";")[0].strip().lower(),
                   status=int(status) if status.isdigit() else None,
                   digest=str(fields.get("digest", "")).removeprefix("sha1:").upper(),
                   fields=fields)

    @property
    def warc_date(self) -> str:
        t = self.timestamp
        return f"{t[:4]}-{t[4:6]}-{t[6:8]}T{t[8:10]}:{t[10:12]}:{t[12:14]}Z"

    @property
    def year(self) -> str:
        return self.timestamp[:4]

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    def wanted(self) -> bool:
        """A capture worth recovering: an answer (200, or a 3xx that names an alias) of a page
        or document type."""
        if self.status is None or not (self.status == 200 or 300 <= self.status < 400):
            return False
        if 300 <= self.status < 400:
            return True  # a redirect's type says nothing
        return self.mime.startswith(PAGE_TYPES + DOCUMENT_TYPES) or self.mime in ("", "unk")


def query(source_cdx: str, url: str, *, match: str = "prefix", since: str | None = None,
          until: str | None = None) -> dict[str, str]:
    """The query parameters both dialects understand."""
    params = {"url": url, "matchType": match, "output": "json"}
    if since:
        params["from"] = re.sub(r"\D", "", since)[:14]
    if until:
        params["to"] = re.sub(r"\D", "", until)[:14]
    return params


def captures(fetcher: Fetcher, endpoint: str, params: dict[str, str], *,
             page_size: int = 5000, paged: bool = False) -> Iterator[Capture]:
    """Every capture the CDX API at ``endpoint`` lists for ``params``.

    ``paged``: the server pages with ``page``/``showNumPages`` (pywb over ZipNum indexes, as
    Common Crawl's); otherwise resumption keys are asked for, which servers that do not know
    them ignore."""
    if paged:
        pages = _page_count(fetcher, endpoint, params)
        for page in range(pages):
            yield from _lines(_get(fetcher, endpoint, {**params, "page": str(page)}))
        return
    key = None
    while True:
        extra = {"showResumeKey": "true", "limit": str(page_size)}
        if key:
            extra["resumeKey"] = key
        rows, key, dialect = _parse(_get(fetcher, endpoint, {**params, **extra}))
        yield from rows
        if dialect == "pywb" and len(rows) >= page_size:
            # A pywb server cut the listing at ``limit`` and offers no key: ask for all of it.
            yield from _lines(_get(fetcher, endpoint, params))[len(rows):]
            return
        if not key:
            return


def _get(fetcher: Fetcher, endpoint: str, params: dict[str, str]) -> Response:
    response = fetcher.get(f"{endpoint}?{urlencode(params)}", check=_complete,
                           ok=(200,))
    if response.status == 404 and b"no captures" in response.body.lower():
        return Response(response.url, 200, response.headers, b"")
    if response.status != 200:
        raise CdxError(f"{response.url}: HTTP {response.status}")
    return response


def _complete(response: Response) -> None:
    """A listing cut mid-line is an incomplete answer, not a short one."""
    text = response.body.rstrip()
    if text and not text.endswith((b"}", b"]")):
        raise Retryable("incomplete CDX page")


def _page_count(fetcher: Fetcher, endpoint: str, params: dict[str, str]) -> int:
    body = _get(fetcher, endpoint, {**params, "showNumPages": "true"}).body.strip()
    try:
        data = json.loads(body or b"0")
    except json.JSONDecodeError as e:
        raise CdxError(f"{endpoint}: page count is not JSON: {body[:80]!r}") from e
    if isinstance(data, dict):
        return int(data.get("pages", 0))
    if isinstance(data, int):
        return data
    raise CdxError(f"{endpoint}: unexpected page count {body[:80]!r}")


def _parse(response: Response) -> tuple[list[Capture], str | None, str]:
    text = response.body.strip()
    if not text:
        return [], None, "pywb"
    if text.startswith(b"["):
        return (*_wayback_rows(text), "ia")
    return _lines(response), None, "pywb"


def _lines(response: Response) -> list[Capture]:
    rows = []
    for line in response.body.splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(Capture.from_fields(json.loads(line)))
            except (json.JSONDecodeError, KeyError) as e:
                raise CdxError(f"{response.url}: not a CDX line: {line[:80]!r}") from e
    return rows


def _wayback_rows(text: bytes) -> tuple[list[Capture], str | None]:
    data = json.loads(text)
    if not data:
        return [], None
    names = [IA_FIELDS.get(n, n) for n in data[0]]
    rows, key = [], None
    for i, row in enumerate(data[1:], start=1):
        if not row:  # an empty row, then the resumption key
            key = data[i + 1][0] if i + 1 < len(data) and data[i + 1] else None
            break
        rows.append(Capture.from_fields(dict(zip(names, row, strict=False))))
    return rows, key


def distinct_versions(found: Iterator[Capture]) -> Iterator[Capture]:
    """Each distinct payload of each URL once (its first capture): archives keep the same page
    captured many times over."""
    seen: set[tuple[str, str]] = set()
    for capture in found:
        key = (capture.url, capture.digest or capture.timestamp)
        if key not in seen:
            seen.add(key)
            yield capture
