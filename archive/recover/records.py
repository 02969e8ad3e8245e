"""Recovered captures as WARC records, as faithful as the archive they come from allows.

- Common Crawl: the original record, byte for byte (its gzip member, fetched by range).
- A Wayback archive: the raw capture (``id_``) as a ``response`` record dated when the archive
  captured it, with the original HTTP headers restored from ``X-Archive-Orig-*``. When the
  archive decoded a compressed body for us, the record says so: the original
  ``Content-Encoding`` and ``Content-Length`` stay under their ``X-Archive-Orig-`` names, as
  they no longer describe the payload.

Every recovered record is followed by a ``metadata`` record naming where it came from
(``provenance``), which is how a reindex knows a capture's source from the WARC files alone.
"""

from __future__ import annotations

import io
import zlib
from io import BytesIO
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArchiveLoadFailed, ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

from .cdx import Capture
from .fetch import Response, Retryable

ORIGINAL = "x-archive-orig-"
# Headers a replay server adds about itself, never the original server's.
REPLAY_HEADERS = {"date", "server", "memento-datetime", "link", "content-location",
                  "transfer-encoding", "connection", "keep-alive", "set-cookie",
                  "preference-applied", "x-archive-src", "x-archive-guessed-content-type",
                  "x-archive-guessed-charset", "x-app-server", "x-ts", "x-tr",
                  "x-location", "x-cache-key", "x-page-cache", "x-nid", "server-timing",
                  "x-archive-playback", "x-archive-screenname", "x-archive-wayback-perf",
                  "content-security-policy", "referrer-policy", "permissions-policy",
                  "strict-transport-security", "access-control-allow-origin"}
# Original headers that no longer hold once the archive removed the framing or the encoding.
FRAMING = {"transfer-encoding", "content-length"}


def original_headers(response: Response, status: int | None = None) -> StatusAndHeaders:
    """The original HTTP status line and headers of a raw replay (``status``: the original
    status, when the replay answered a redirect with a redirect of its own)."""
    originals = [(k[len(ORIGINAL):], v) for k, v in response.headers
                 if k.lower().startswith(ORIGINAL)]
    named = {k.lower() for k, _ in originals}
    # Headers the replay passed on unprefixed (Content-Type, X-Powered-By...), bar its own
    # framing of the body we got.
    kept = [(k, v) for k, v in response.headers
            if not k.lower().startswith(ORIGINAL) and k.lower() not in REPLAY_HEADERS
            and k.lower() not in named and k.lower() not in FRAMING]
    sent_encoding = response.header("Content-Encoding")
    headers = []
    for name, value in originals:
        lower = name.lower()
        if lower in FRAMING or (lower == "content-encoding" and not sent_encoding):
            headers.append((ORIGINAL + name, value))  # true of the original, not of this body
        else:
            headers.append((name, value))
    headers += kept
    headers.append(("Content-Length", str(len(response.body))))
    status = status or response.status
    reason = _REASONS.get(status, "")
    return StatusAndHeaders(f"{status} {reason}".strip(), headers,
                            protocol="HTTP/1.1")


_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 303: "See Other",
            307: "Temporary Redirect", 308: "Permanent Redirect"}


def wayback_record(builder: RecordBuilder, capture: Capture, response: Response,
                   location: str | None = None) -> ArcWarcRecord:
    """A ``response`` record of a raw Wayback replay, dated at the original capture.
    ``location``: the original ``Location`` of a redirect, when the archive rewrote it."""
    head = original_headers(response, capture.status)
    if location:
        head.replace_header("Location", location)
    return builder.create_warc_record(
        capture.url, "response", payload=BytesIO(response.body), length=len(response.body),
        http_headers=head, warc_headers_dict={"WARC-Date": capture.warc_date})


def commoncrawl_record(member: bytes, capture: Capture) -> ArcWarcRecord:
    """The record of a gzip member fetched by range; ``Retryable`` when it came torn."""
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = decompressor.decompress(member)
    except zlib.error as e:
        raise Retryable(f"not a gzip member ({e})") from None
    if not decompressor.eof or decompressor.unused_data:
        raise Retryable("torn WARC record")
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(data))))
        record.payload = record.raw_stream.read()  # type: ignore[attr-defined]
    except (ArchiveLoadFailed, StopIteration, ValueError) as e:
        raise Retryable(f"not a WARC record ({e})") from None
    target = record.rec_headers.get_header("WARC-Target-URI")
    if target != capture.url:
        raise Retryable(f"the range holds {target}, not {capture.url}")
    return record


def provenance(source: Any, capture: Capture, retrieved: str, **where: str) -> dict[str, Any]:
    """What the metadata record after a recovered record says of its origin: the source, its
    CDX API, the CDX line, where the capture was fetched (``replay_url``, or ``warc_url`` and
    ``range``) and when."""
    return {"source": source.name, "archive": source.cdx, "cdx": capture.fields,
            "retrieved": retrieved, **where}
