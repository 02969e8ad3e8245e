"""The archive of one crawl of one portal, as a Scrapy extension: the data directory's lock, the
WARC writer, the index connection and the run row.

The spider, the WARC middleware and the article pipeline find it with
``crawler.get_extension(ArchiveSession)``. It opens and closes in a fixed order:

Opening
    1. ``from_crawler`` (the extension is built before Scrapy's own, order -100 in
       ``EXTENSIONS``): take the data directory's lock (archive/lock.py), then set the portal's
       ``JOBDIR`` (crawler/resume.py), which Scrapy's SpiderState and scheduler read. A crawl
       that finds the lock held sets no ``JOBDIR``: another crawl's queue is not its to touch.
    2. ``spider_opened``: a crawl without the lock logs one error line and closes with reason
       ``locked``; any other opens the index, its run row and the WARC writer.

Closing (one ``spider_closed`` handler; Scrapy has closed the item pipelines before it)
    1. the closers registered with ``on_close`` (the spider's: listings, learned template, late
       aliases), in the order they were registered;
    2. the run recorder writes the run's figures (crawler/extensions/recorder.py);
    3. page types go to WARC, captures to the index; the WARC file and the run row are closed.
    4. At ``engine_stopped``, once Scrapy has written the job's queue and state: the resume
       keeper keeps or removes the job directory, and the lock is let go.

Failing to write (disk full, read-only, I/O error: archive/diskerrors.py) stops the crawl at
once with one line that names the file (``write_failed``); closing then writes what it still
can, each step on its own, and the run ends as ``disk_full`` or ``write_error``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from time import monotonic
from typing import Any

import sqlite_utils
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.reactor import is_asyncio_reactor_installed

from archive import index, search
from archive.diskerrors import WRITE_ERRNOS, WRITE_ERRORS, describe
from archive.lock import LockedError, SharedRunLock
from archive.runs import FORCED
from archive.warc import DEFAULT_GZIP_LEVEL, RecordPointer, RotatingWarcWriter
from crawler import resume
from crawler.extensions.recorder import RunRecorder
from crawler.extensions.stopping import Stopping
from crawler.registry import Portal
from crawler.urls import clean_url

logger = logging.getLogger(__name__)

CAPTURE_BATCH = 200  # capture rows kept before they are written (ARCHIVE_INDEX_FLUSH_ROWS)
LOCKED = "locked"  # the finish reason of a crawl that found another one holding the lock
# Settings kept in the warcinfo record of every WARC file.
SUMMARY_SETTINGS = ("USER_AGENT", "ROBOTSTXT_OBEY", "DOWNLOAD_DELAY",
                    "CONCURRENT_REQUESTS_PER_DOMAIN", "DEPTH_LIMIT", "PORTAL_MAX_PAGES")


class ArchiveSession:
    def __init__(self, crawler: Crawler, portal: Portal, *, data_dir: Path, max_size: int,
                 operator: str, gzip_level: int = DEFAULT_GZIP_LEVEL) -> None:
        self.crawler = crawler
        self.portal = portal
        self.data_dir = data_dir
        self.max_size = max_size
        self.operator = operator
        self.gzip_level = gzip_level
        self.lock = SharedRunLock(data_dir)
        self.locked: str | None = None  # why the lock could not be taken
        self.job: resume.Keeper | None = None
        self.recorder = RunRecorder(crawler)
        self.closers: list[Callable[[str], None]] = []
        self.reason = ""
        self.db: sqlite_utils.Database
        self.warc: RotatingWarcWriter
        self.run_id = 0
        self.opened = False
        self.page_types: dict[str, str] = {}  # record id -> page type, archived at close
        self.pending: dict[str, dict[str, Any]] = {}  # record id -> capture row not yet written
        self.counts = {"new": 0, "changed": 0, "unchanged": 0}
        self.failure: str | None = None  # the archive could not be written: why, in one line
        # The event loop's exception handler before ours (see spider_opened).
        self._loop_handler: tuple[asyncio.AbstractEventLoop, Any] | None = None
        settings = crawler.settings
        self.flush_rows = settings.getint("ARCHIVE_INDEX_FLUSH_ROWS", CAPTURE_BATCH)
        self.flush_seconds = settings.getfloat("ARCHIVE_INDEX_FLUSH_SECONDS", 2.0)
        self.flushed = monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveSession:
        portal = getattr(crawler.spider, "portal", None)
        if not isinstance(portal, Portal):
            raise NotConfigured("the spider crawls no portal")
        settings = crawler.settings
        session = cls(crawler, portal, data_dir=Path(settings["ARCHIVE_DATA_DIR"]),
                      max_size=settings.getint("ARCHIVE_WARC_MAX_SIZE"),
                      operator=settings["ARCHIVE_OPERATOR"],
                      gzip_level=settings.getint("ARCHIVE_WARC_GZIP_LEVEL", DEFAULT_GZIP_LEVEL))
        try:
            session.lock.acquire()
        except LockedError as e:
            session.locked = str(e)
        else:
            session.job = resume.keep_job(settings, portal.id)
        crawler.signals.connect(session.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(session.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(session.engine_stopped, signal=signals.engine_stopped)
        return session

    @property
    def keeps_job(self) -> bool:
        """Whether an interrupted crawl's queue and spider state are kept for the next run."""
        return self.job is not None

    def spider_opened(self, spider: Spider) -> None:
        if self.locked:
            logger.error("%s: not crawling", self.locked)
            raise CloseSpider(LOCKED)
        try:
            self.open()
        except WRITE_ERRORS as e:
            raise CloseSpider(self.say_write_failure(e)) from None
        if is_asyncio_reactor_installed():
            # A write can fail inside a reactor callback (the engine's next request), where
            # nothing of ours catches it: the event loop would print its own "Exception in
            # callback" before the crawl's one line.
            loop = asyncio.get_event_loop()
            self._loop_handler = (loop, loop.get_exception_handler())
            loop.set_exception_handler(self._loop_exception)

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, sqlite3.OperationalError) or (
                isinstance(error, OSError) and error.errno in WRITE_ERRNOS):
            # A file's write() says no name: the data directory is the place to look.
            self.write_failed(error, self.data_dir)
            return
        previous = self._loop_handler[1] if self._loop_handler else None
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    def write_failed(self, error: Exception, where: Path | None = None) -> None:
        """The archive cannot be written (disk full, read-only, I/O error): say so once, in one
        line naming the file (or ``where``), and stop the crawl; what follows writes what it
        still can."""
        if self.failure is None:
            reason = self.say_write_failure(error, where)
            stopping = self.crawler.get_extension(Stopping)
            if stopping is not None:
                stopping.stop(reason)

    def say_write_failure(self, error: Exception, where: Path | None = None) -> str:
        """Log the one line that says why the archive cannot be written; the crawl's reason."""
        reason, self.failure = describe(error, where or self.data_dir / "index.db")
        # The log file is most likely on the same disk: its errors are not news, nor are the
        # tracebacks of Scrapy's own writes (job directory) that fail the same way.
        logging.raiseExceptions = False
        for handler in logging.getLogger().handlers:
            handler.addFilter(_not_a_write_error)
        logger.error("%s", self.failure)
        self.crawler.stats.set_value("archive/write_error", self.failure)
        return reason

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Write what can be: an error writing the archive stops the crawl (``write_failed``)
        and ends the block quietly."""
        try:
            yield
        except WRITE_ERRORS as e:
            self.write_failed(e)

    def open(self) -> None:
        portal, settings = self.portal, self.crawler.settings
        summary = {name: settings.get(name) for name in SUMMARY_SETTINGS}
        self.db = index.open_index(self.data_dir / "index.db")
        index.upsert_portal(self.db, portal.to_dict())
        self.run_id = self.db["runs"].insert(
            {"id": self.new_run_id(), "started": index.now(), "portals": portal.id,
             "status": "running"}
        ).last_pk
        self.warc = RotatingWarcWriter(
            self.data_dir / "warc",
            prefix=self.warc_prefix(),
            max_size=self.max_size,
            warcinfo={
                "operator": self.operator,
                "isPartOf": portal.id,
                "description": f"{portal.name or portal.id} ({portal.base_url})",
                "robots": "obey",
                "http-header-user-agent": summary.get("USER_AGENT", ""),
                "json-metadata": json.dumps(summary, ensure_ascii=False),
                # What `portal-archive reindex` needs to rebuild the index from WARC alone.
                "portal": json.dumps(portal.to_dict(), ensure_ascii=False, sort_keys=True),
                "run-id": str(self.run_id),
            },
            gzip_level=self.gzip_level,
        )
        self.opened = True

    def new_run_id(self) -> int | None:
        """The id of this crawl's run row; None lets the index number it."""
        return None

    def warc_prefix(self) -> str:
        """What the names of this crawl's WARC files begin with (a time and serial follow)."""
        return f"portal-archive-{self.portal.id}"

    def on_close(self, closer: Callable[[str], None]) -> None:
        """Call ``closer(reason)`` when the spider closes, while the archive is still open."""
        self.closers.append(closer)

    def add_capture(self, url: str, pointer: RecordPointer, *, status: int,
                    content_type: str, time: str) -> None:
        self.pending[pointer.record_id] = {
            "run_id": self.run_id, "portal": self.portal.id, "url": url, "time": time,
            "status": status, "content_type": content_type, "page_type": None,
            "record_type": pointer.record_type, "record_id": pointer.record_id,
            "payload_digest": pointer.payload_digest, "warc_file": pointer.warc_file,
            "warc_offset": pointer.offset, "warc_length": pointer.length,
        }
        # Every N rows or every few seconds: a crawl killed loses at most that many rows,
        # which `verify --repair` takes back from the WARC file.
        if len(self.pending) >= self.flush_rows or \
                monotonic() - self.flushed >= self.flush_seconds:
            self.flush()

    def stored_articles(self) -> dict[str, dict[str, Any]]:
        """The URLs of the portal's stored articles (canonical and alternate), each with the WARC
        pointer (``warc_file``, ``warc_offset``) of its last full capture, or ``{}``."""
        portal = self.portal.id
        captures: dict[str, dict[str, Any]] = {}
        for url, alternates in index.stored_articles(self.db, portal):
            captures[url] = {}
            for alternate in alternates:
                captures.setdefault(clean_url(alternate), {})
        captures.update(index.last_full_captures(self.db, portal, captures))
        return captures

    def previous_capture(self, url: str, digest: str | None = None) -> dict[str, Any] | None:
        """The latest archived full response for ``url`` (with ``digest``, if given).

        This run's captures not yet written to the index count too: a URL fetched twice in
        one run (robots.txt, by Scrapy and by the spider) is a revisit the second time,
        whether or not the index happened to be flushed in between."""
        for row in reversed(self.pending.values()):
            if (row["url"] == url and row["record_type"] == "response"
                    and 200 <= row["status"] <= 299
                    and (not digest or row["payload_digest"] == digest)):
                return {key: row[key] for key in ("record_id", "url", "time", "payload_digest")}
        sql = ("select record_id, url, time, payload_digest from captures where url = ? "
               "and record_type = 'response' and status between 200 and 299")
        params: list[Any] = [url]
        if digest:
            sql += " and payload_digest = ?"
            params.append(digest)
        return next(self.db.query(sql + " order by time desc limit 1", params), None)

    def not_modified(self, url: str, time: str) -> bool:
        """A 304 for ``url``: count the article it holds as unchanged (True if it holds one)."""
        with self.db.conn:
            found = index.touch_article(self.db, url, time) is not None
        if found:
            self.counts["unchanged"] += 1
        return found

    def set_page_type(self, record_id: str, page_type: str) -> None:
        self.page_types[record_id] = page_type
        row = self.pending.get(record_id)
        if row is not None:
            row["page_type"] = page_type
        else:
            with self.writing():
                self.db.execute("update captures set page_type = ? where record_id = ?",
                                [page_type, record_id])

    def stored_template(self) -> str | None:
        """The portal's host template as the last crawl left it (JSON), if any."""
        return index.load_template(self.db, self.portal.host)

    def save_template(self, data: str) -> None:
        index.save_template(self.db, self.portal.host, data)

    def add_alternate_urls(self, alternates: dict[str, list[str]]) -> None:
        """More URLs of stored articles: ``{canonical url: [other urls]}``."""
        if alternates:
            # In the WARC too, so that a reindex finds them (archive/reindex.py).
            self.warc.metadata(f"urn:portal-archive:run:{self.run_id}:alternate-urls",
                               {"alternate_urls": alternates}, refers_to=None,
                               record_type="metadata")
        with self.db.conn:
            index.add_alternate_urls(self.db, alternates)

    def flush(self) -> None:
        # WARC first: the index never points at bytes that are not on disk.
        self.flushed = monotonic()
        self.warc.flush()
        if self.pending:
            with self.db.conn:
                index.insert_captures(self.db, self.pending.values())
            self.pending.clear()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.reason = reason
        if not self.opened:
            return
        with self.writing():
            for closer in self.closers:
                closer(reason)
        with self.writing():
            self.recorder.record(self.db, self.run_id)
        self.close(reason)

    def close_after_forced_stop(self) -> None:
        """The process was stopped at once (a second Ctrl-C), the spider never closed: keep what
        was written (WARC closed, captures indexed, the run's figures) and say so in its row."""
        if not self.opened:
            return
        self.crawler.stats.set_value("finish_reason", FORCED)
        for closer in self.closers:
            closer(FORCED)
        self.recorder.record(self.db, self.run_id)
        self.close(FORCED)

    def close(self, reason: str = "finished") -> None:
        if self.page_types and self.failure is None:
            # Page types are decided after the capture is written: keep them in the WARC
            # too, so that a reindex restores them.
            with self.writing():
                self.warc.metadata(f"urn:portal-archive:run:{self.run_id}:page-types",
                                   {"page_types": self.page_types},
                                   refers_to=None, record_type="metadata")
        with self.writing():
            self.flush()
        with self.writing():
            self.warc.close()
        self.crawler.stats.set_value("archive/warc_bytes", self.warc.bytes_written)
        with self.writing():
            self.db["runs"].update(self.run_id, {
                "ended": index.now(),
                "status": reason,
                "stats": json.dumps({**self.counts, "warc_bytes": self.warc.bytes_written}),
            })
        if self.failure is None:
            # Search's impact tiers are relearned when the archive has quadrupled since.
            with self.writing(), self.db.conn:
                search.maintain(self.db)
        self.db.close()
        self.opened = False

    def engine_stopped(self) -> None:
        if self.job is not None:
            with self.writing():
                self.job.finish(self.reason)
        self.lock.release()
        if self._loop_handler is not None:
            loop, previous = self._loop_handler
            loop.set_exception_handler(previous)
            self._loop_handler = None


def _not_a_write_error(record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    return not isinstance(error, (OSError, sqlite3.OperationalError))
