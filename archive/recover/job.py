"""Recover one portal from web archives into the archive: list, fetch, write, extract, index.

Captures are listed from each source's CDX API (the portal's URL prefix), filtered to pages
and documents, collapsed to one capture per distinct payload of a URL, and those already
recovered from that source are left out: a second run fetches only what is new, and a run
that was interrupted resumes where it stopped (each capture is committed to the index as it
is written). The recovered pages then go through the same extraction, versions and index as
the crawl's: a host template learned from every recovered page, then one article per page.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import sqlite_utils
from lxml import etree

import cleaners
from archive import articles, index, search
from archive.lock import RunLock
from archive.warc import (
    DEFAULT_GZIP_LEVEL,
    PROVENANCE_URN,
    RecordPointer,
    RotatingWarcWriter,
    payload_digest,
)
from archive.warcfiles import decoded_payload, read_record

from . import cdx, records
from .cdx import Capture
from .fetch import Fetcher, FetchFailed, Response, Retryable, SourceFailing
from .sources import COMMONCRAWL, DEFAULTS, Source

logger = logging.getLogger(__name__)

CANONICAL_HREFS = etree.XPath("//link[@rel='canonical']/@href", smart_strings=False)
DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt",
                       ".rtf", ".ods", ".zip", ".rar")
SAME_CONTENT_CANDIDATES = 10  # earlier captures of a URL compared by content, not digest


@dataclass
class SourceResult:
    source: str
    listed: int = 0  # CDX lines in scope
    wanted: int = 0  # distinct versions of pages and documents
    known: int = 0  # already recovered from this source before
    fetched: int = 0  # captures fetched and written
    revisits: int = 0  # of those, payloads the archive already held
    failed: int = 0  # captures given up
    requests: int = 0  # HTTP requests sent to the source (retries included)
    retries: int = 0
    seconds: float = 0.0
    given_up: str | None = None  # why the source was abandoned, if it was
    plan: dict[str, dict[str, int]] = field(default_factory=dict)  # dry run: type -> year -> n


@dataclass
class Recovery:
    portal: str
    sources: list[SourceResult]
    articles: dict[str, int] = field(default_factory=lambda: Counter())  # new/changed/unchanged
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"portal": self.portal, "sources": [asdict(s) for s in self.sources],
                "articles": dict(self.articles), "seconds": round(self.seconds, 2)}


def scope_of(base_url: str) -> str:
    """The URL prefix a portal's captures share: host (without ``www.``) and base folder."""
    parts = urlsplit(base_url)
    path = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
    return f"{(parts.hostname or '').removeprefix('www.')}{path}"


def in_scope(url: str, scope: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return parts.scheme in ("http", "https") and f"{host}{parts.path}".startswith(scope)


def page_kind(capture: Capture) -> str:
    """What a capture is, from its CDX line alone (the dry run's counts)."""
    path = urlsplit(capture.url).path.lower()
    if capture.status and 300 <= capture.status < 400:
        return "redirect"
    if path.endswith(DOCUMENT_EXTENSIONS) or capture.mime.startswith(cdx.DOCUMENT_TYPES):
        return "document"
    if path.endswith("robots.txt"):
        return "robots"
    if "xml" in capture.mime or "rss" in capture.mime or path.endswith((".xml", ".rss")):
        return "feed"
    return "page"


class Recoverer:
    """Recovers one portal (a dict with ``id``, ``base_url``, and optionally ``name``,
    ``province``, ``district``) into ``data_dir``."""

    def __init__(self, data_dir: Path, portal: dict[str, Any], settings: dict[str, Any], *,
                 since: str | None = None, until: str | None = None, limit: int | None = None,
                 progress: Callable[[str], None] | None = None,
                 fetchers: dict[str, Fetcher] | None = None) -> None:
        self.data_dir = Path(data_dir)
        # One fetcher per source, shared by every portal of a run: the rate limit is the
        # source's, not a portal's.
        self.fetchers = fetchers if fetchers is not None else {}
        self.portal = portal
        self.settings = {**DEFAULTS, **settings}
        self.since, self.until, self.limit = since, until, limit
        self.scope = scope_of(portal["base_url"])
        self.progress = progress or (lambda message: None)
        self.db: sqlite_utils.Database | None = None
        self.warc: RotatingWarcWriter | None = None
        self.pages: list[tuple[RecordPointer, Capture]] = []  # full HTML 200s written

    # -- listing ---------------------------------------------------------------------------

    def listing(self, source: Source, fetcher: Fetcher, result: SourceResult
                ) -> Iterator[Capture]:
        params = cdx.query(source.cdx, self.scope, since=self.since, until=self.until)
        if source.kind == COMMONCRAWL:
            crawls = crawl_endpoints(fetcher, source, self.since, self.until)
            found: Iterator[Capture] = (c for endpoint in crawls
                                        for c in cdx.captures(fetcher, endpoint, params,
                                                              paged=True))
        else:
            found = cdx.captures(fetcher, source.cdx, params,
                                 page_size=int(self.settings["RECOVER_CDX_PAGE_SIZE"]))
        for capture in found:
            if not in_scope(capture.url, self.scope):
                continue
            result.listed += 1
            if capture.wanted() and self._in_range(capture):
                yield capture

    def _in_range(self, capture: Capture) -> bool:
        day = capture.warc_date[:10]
        return not ((self.since and day < self.since[:10])
                    or (self.until and day > self.until[:10]))

    def plan(self, source: Source, fetcher: Fetcher, result: SourceResult) -> list[Capture]:
        """The captures to fetch from ``source``: new distinct versions, oldest first."""
        known = self._recovered(source.name)
        todo = []
        for capture in cdx.distinct_versions(self.listing(source, fetcher, result)):
            result.wanted += 1
            if (capture.url, capture.timestamp) in known:
                result.known += 1
                continue
            todo.append(capture)
        todo.sort(key=lambda c: (c.timestamp, c.url))
        if self.limit is not None:
            todo = todo[:self.limit]
        for capture in todo:
            by_year = result.plan.setdefault(page_kind(capture), {})
            by_year[capture.year] = by_year.get(capture.year, 0) + 1
        return todo

    def _recovered(self, source: str) -> set[tuple[str, str]]:
        if self.db is None:
            path = self.data_dir / "index.db"
            if not path.exists():
                return set()
            db = index.open_index(path)
        else:
            db = self.db
        rows = db.query("select url, time from captures where portal = ? and source = ?",
                        [self.portal["id"], source])
        return {(r["url"], timestamp14(r["time"])) for r in rows}

    # -- fetching --------------------------------------------------------------------------

    def fetch(self, source: Source, fetcher: Fetcher, capture: Capture) -> Any:
        if source.kind == COMMONCRAWL:
            return self._fetch_range(source, fetcher, capture)
        replay = f"{source.replay}{capture.timestamp}id_/{capture.url}"
        response = fetcher.get(replay, ok=(200, 301, 302, 303, 307, 308))
        redirects = 300 <= response.status < 400 and 300 <= (capture.status or 0) < 400
        if response.status != capture.status and not redirects:
            raise FetchFailed(f"{replay}: HTTP {response.status}, the CDX said "
                              f"{capture.status}")
        location = response.header("X-Archive-Orig-Location") or _unreplayed(
            response.header("Location"), source.replay)
        return response, location

    def _fetch_range(self, source: Source, fetcher: Fetcher, capture: Capture) -> Any:
        fields = capture.fields
        try:
            offset, length = int(fields["offset"]), int(fields["length"])
            warc_url = urljoin(source.replay, fields["filename"])
        except (KeyError, ValueError) as e:
            raise FetchFailed(f"CDX line without a WARC location: {e}") from None
        span = f"bytes={offset}-{offset + length - 1}"
        parsed: dict[str, Any] = {}

        def check(response: Response) -> None:
            body = response.body
            if response.status == 200:  # the server ignored Range
                body = body[offset:offset + length]
            parsed["member"] = body
            parsed["record"] = records.commoncrawl_record(body, capture)

        response = fetcher.get(warc_url, headers={"Range": span}, check=check, ok=(200, 206))
        if response.status not in (200, 206):
            raise FetchFailed(f"{warc_url} ({span}): HTTP {response.status}")
        return parsed["member"], parsed["record"], warc_url, span

    # -- writing ---------------------------------------------------------------------------

    def write(self, source: Source, capture: Capture, fetched: Any) -> str:
        """Write one fetched capture and its provenance; return its record type."""
        assert self.warc is not None and self.db is not None
        retrieved = index.now()
        if source.kind == COMMONCRAWL:
            member, record, warc_url, span = fetched
            payload = record.payload  # type: ignore[attr-defined]
            digest = (record.rec_headers.get_header("WARC-Payload-Digest")
                      or payload_digest(payload))
            where = {"warc_url": warc_url, "range": span}
            http = record.http_headers
        else:
            response, location = fetched
            record = records.wayback_record(self.warc.builder, capture, response, location)
            record.payload = response.body  # type: ignore[attr-defined]
            digest = payload_digest(response.body)
            where = {"replay_url": response.url}
            http = record.http_headers
        earlier = self._same_payload(capture.url, digest, record)
        if earlier is not None:
            pointer, _ = self.warc.revisit(capture.url, digest=earlier["payload_digest"],
                                           refers_to=earlier, request_head=None,
                                           response_head=http, date=capture.warc_date)
        elif source.kind == COMMONCRAWL:
            pointer = self.warc.copy_member(member, record)
        else:
            pointer = self.warc.write(record)
        self.warc.metadata(PROVENANCE_URN + capture.url,
                           records.provenance(source, capture, retrieved, **where),
                           refers_to=pointer.record_id, record_type="metadata")
        self.warc.flush()  # WARC first: the index never points at bytes not on disk
        content_type = (http.get_header("Content-Type") if http else None) or capture.mime
        with self.db.conn:
            index.insert_captures(self.db, [{
                "run_id": None, "portal": self.portal["id"], "url": capture.url,
                "time": capture.warc_date, "status": capture.status,
                "content_type": content_type, "page_type": None,
                "record_type": pointer.record_type, "record_id": pointer.record_id,
                "payload_digest": pointer.payload_digest, "warc_file": pointer.warc_file,
                "warc_offset": pointer.offset, "warc_length": pointer.length,
                "source": source.name}])
        if pointer.record_type == "response" and capture.status == 200 \
                and "html" in content_type.lower():
            self.pages.append((pointer, capture))
        return pointer.record_type

    def _same_payload(self, url: str, digest: str, record: Any) -> dict[str, Any] | None:
        """An archived full capture of ``url`` with this payload: the same digest, or the same
        content once decoded (an archive may have removed the original Content-Encoding)."""
        assert self.db is not None
        sql = ("select record_id, url, time, payload_digest, warc_file, warc_offset, "
               "warc_length from captures where url = ? and record_type = 'response'")
        same = next(self.db.query(sql + " and payload_digest = ? limit 1", [url, digest]), None)
        if same is not None:
            return same
        content = None
        for row in self.db.query(sql + " order by time desc limit ?",
                                 [url, SAME_CONTENT_CANDIDATES]):
            content = content if content is not None else decoded_payload(record)
            earlier = read_record(self.data_dir / "warc", row["warc_file"], row["warc_offset"],
                                  row["warc_length"])
            if decoded_payload(earlier) == content:
                return row
        return None

    # -- extraction ------------------------------------------------------------------------

    def extract(self, counts: Counter[str]) -> None:
        """Articles of the recovered pages, as the crawl extracts them: a template learned
        from every page of the host first, then one article per page, oldest first."""
        assert self.db is not None and self.warc is not None
        if not self.pages:
            return
        host = urlsplit(self.portal["base_url"]).hostname or ""
        stored = index.load_template(self.db, host)
        template = cleaners.HostTemplate.from_json(stored) if stored else cleaners.HostTemplate()
        for pointer, capture in self.pages:
            template.learn(self._body(pointer), capture.url)
        page_types = {}
        for pointer, capture in sorted(self.pages, key=lambda p: p[1].timestamp):
            body = self._body(pointer)
            headers = {"Content-Type": capture.mime}
            article = cleaners.extract(body, capture.url, headers, template=template)
            page_types[pointer.record_id] = "article" if article else "page"
            if article is None:
                continue
            url = self._canonical(body, capture.url)
            _, change = articles.store(
                self.warc, self.db, article, url=url, fetched_url=capture.url,
                portal=self.portal["id"], capture=pointer, captured=capture.warc_date,
                source=self._source_of(pointer), search_columns=search.search_columns(
                    {"title": article.title, "summary": article.summary,
                     "text": article.text}))
            counts[change] += 1
        # Kept in WARC too, as the crawl keeps its page types, so that a reindex restores them.
        self.warc.metadata(f"urn:portal-archive:recovered:{self.portal['id']}:page-types",
                           {"page_types": page_types}, refers_to=None, record_type="metadata")
        with self.db.conn:
            self.db.conn.executemany("update captures set page_type = ? where record_id = ?",
                                     [(t, r) for r, t in page_types.items()])
            index.save_template(self.db, host, template.to_json())

    def _body(self, pointer: RecordPointer) -> bytes:
        assert self.warc is not None
        self.warc.flush()
        return decoded_payload(read_record(self.data_dir / "warc", pointer.warc_file,
                                           pointer.offset, pointer.length))

    def _canonical(self, body: bytes, url: str) -> str:
        parsed = cleaners.parse(body, {})
        hrefs = CANONICAL_HREFS(parsed[0]) if parsed else []
        canonical = urljoin(url, hrefs[0].strip()) if hrefs else None
        return canonical if canonical and in_scope(canonical, self.scope) else url

    def _source_of(self, pointer: RecordPointer) -> str:
        assert self.db is not None
        row = next(self.db.query("select source from captures where record_id = ?",
                                 [pointer.record_id]), None)
        return row["source"] if row else index.LIVE

    # -- the whole run ---------------------------------------------------------------------

    def run(self, sources: list[Source], *, dry_run: bool = False) -> Recovery:
        started = time.monotonic()
        recovery = Recovery(self.portal["id"], [])
        if dry_run:
            for source in sources:
                result = SourceResult(source.name)
                fetcher = self._fetcher(source)
                try:
                    self.plan(source, fetcher, result)
                except (SourceFailing, FetchFailed, cdx.CdxError) as e:
                    result.given_up = str(e)
                self._close_fetcher(fetcher, result, started)
                recovery.sources.append(result)
            recovery.seconds = time.monotonic() - started
            return recovery
        with RunLock(self.data_dir):
            self.db = index.open_index(self.data_dir / "index.db")
            index.upsert_portal(self.db, self.portal)
            self.warc = RotatingWarcWriter(
                self.data_dir / "warc", prefix=f"portal-archive-{self.portal['id']}-recovered",
                max_size=int(self.settings.get("ARCHIVE_WARC_MAX_SIZE", 1024**3)),
                gzip_level=int(self.settings.get("ARCHIVE_WARC_GZIP_LEVEL",
                                                 DEFAULT_GZIP_LEVEL)),
                warcinfo={"operator": self.settings.get("ARCHIVE_OPERATOR", ""),
                          "isPartOf": self.portal["id"],
                          "description": f"recovered from web archives: {self.portal['base_url']}",
                          "portal": json.dumps(self.portal, ensure_ascii=False,
                                               sort_keys=True)})
            try:
                for source in sources:
                    recovery.sources.append(self._recover_from(source))
                self.extract(recovery.articles)
            finally:
                self.warc.close()
                self.db.close()
                self.db = None
        recovery.seconds = time.monotonic() - started
        return recovery

    def _recover_from(self, source: Source) -> SourceResult:
        started = time.monotonic()
        result = SourceResult(source.name)
        fetcher = self._fetcher(source)
        try:
            todo = self.plan(source, fetcher, result)
            self.progress(f"{self.portal['id']}: {source.name}: {len(todo)} captures to fetch "
                          f"({result.known} recovered before)")
            with ThreadPoolExecutor(max_workers=max(1, source.concurrency)) as pool:
                futures = [(c, pool.submit(self.fetch, source, fetcher, c)) for c in todo]
                for done, (capture, future) in enumerate(futures, start=1):
                    try:
                        fetched = future.result()
                    except FetchFailed as e:
                        result.failed += 1
                        logger.warning("%s: %s", source.name, e)
                        continue
                    except Retryable as e:
                        result.failed += 1
                        logger.warning("%s: %s: %s", source.name, capture.url, e.reason)
                        continue
                    kind = self.write(source, capture, fetched)
                    result.fetched += 1
                    result.revisits += kind == "revisit"
                    if done % 10 == 0 or done == len(todo):
                        self.progress(f"{self.portal['id']}: {source.name}: {done}/{len(todo)}")
        except SourceFailing as e:
            result.given_up = str(e)
        except (FetchFailed, cdx.CdxError) as e:
            result.given_up = str(e)
        if result.given_up:
            logger.error("%s: giving up %s: %s", self.portal["id"], source.name,
                         result.given_up)
        self._close_fetcher(fetcher, result, started)
        return result

    def _fetcher(self, source: Source) -> Fetcher:
        fetcher = self.fetchers.get(source.name)
        if fetcher is None:
            fetcher = self.fetchers[source.name] = Fetcher.for_source(source, self.settings)
        fetcher.counted = (fetcher.stats.requests, fetcher.stats.retries)
        return fetcher

    @staticmethod
    def _close_fetcher(fetcher: Fetcher, result: SourceResult, started: float) -> None:
        """This portal's share of the fetcher's figures."""
        requests, retries = fetcher.counted
        result.requests = fetcher.stats.requests - requests
        result.retries = fetcher.stats.retries - retries
        result.seconds = round(time.monotonic() - started, 2)


def crawl_endpoints(fetcher: Fetcher, source: Source, since: str | None = None,
                    until: str | None = None) -> list[str]:
    """The CDX APIs of the Common Crawl crawls (``collinfo.json``) overlapping the dates."""
    response = fetcher.get(source.cdx)
    if response.status != 200:
        raise cdx.CdxError(f"{source.cdx}: HTTP {response.status}")
    try:
        crawls = json.loads(response.body)
    except json.JSONDecodeError as e:
        raise cdx.CdxError(f"{source.cdx}: not a crawl list ({e})") from e
    endpoints = []
    for crawl in crawls:
        start, end = (crawl.get("from") or "")[:10], (crawl.get("to") or "9999")[:10]
        if (until and start and start > until[:10]) or (since and end < since[:10]):
            continue
        endpoints.append(urljoin(source.cdx, crawl["cdx-api"]))
    return endpoints


def _unreplayed(location: str | None, replay: str) -> str | None:
    """The original URL of a ``Location`` a replay server rewrote into its own space."""
    if not location or not location.startswith(replay):
        return location
    rest = location[len(replay):]
    return rest.split("_/", 1)[1] if "_/" in rest else rest.split("/", 1)[-1]


def timestamp14(warc_date: str) -> str:
    return "".join(ch for ch in warc_date if ch.isdigit())[:14]
