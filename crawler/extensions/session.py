"""The archive of one crawl of one portal: its WARC writer, its index connection, its run row.

The WARC middleware, the spider and the article pipeline of a crawler all share one session;
``ArchiveSession.for_crawler`` creates it on first use and closes it when the spider closes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import sqlite_utils
from scrapy import signals
from scrapy.crawler import Crawler

from archive import index
from archive.warc import DEFAULT_GZIP_LEVEL, RecordPointer, RotatingWarcWriter
from crawler.registry import Portal

logger = logging.getLogger(__name__)

CAPTURE_BATCH = 200  # capture rows kept in memory before they are written to the index


class ArchiveSession:
    def __init__(
        self, data_dir: Path, portal: Portal, *, max_size: int, operator: str,
        settings_summary: dict[str, Any], gzip_level: int = DEFAULT_GZIP_LEVEL,
    ) -> None:
        self.portal = portal
        self.db: sqlite_utils.Database = index.open_index(data_dir / "index.db")
        index.upsert_portal(self.db, portal.to_dict())
        self.run_id = self.db["runs"].insert(
            {"started": index.now(), "portals": portal.id, "status": "running"}
        ).last_pk
        self.warc = RotatingWarcWriter(
            data_dir / "warc",
            prefix=f"portal-archive-{portal.id}",
            max_size=max_size,
            warcinfo={
                "operator": operator,
                "isPartOf": portal.id,
                "description": f"{portal.name or portal.id} ({portal.base_url})",
                "robots": "obey",
                "http-header-user-agent": settings_summary.get("USER_AGENT", ""),
                "json-metadata": json.dumps(settings_summary, ensure_ascii=False),
                # What `portal-archive reindex` needs to rebuild the index from WARC alone.
                "portal": json.dumps(portal.to_dict(), ensure_ascii=False, sort_keys=True),
                "run-id": str(self.run_id),
            },
            gzip_level=gzip_level,
        )
        self.page_types: dict[str, str] = {}  # record id -> page type, archived at close
        self.pending: dict[str, dict[str, Any]] = {}  # record id -> capture row not yet written
        self.counts = {"new": 0, "changed": 0, "unchanged": 0}

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> ArchiveSession:
        session = getattr(crawler, "_archive_session", None)
        if session is None:
            settings = crawler.settings
            summary = {k: settings.get(k) for k in (
                "USER_AGENT", "ROBOTSTXT_OBEY", "DOWNLOAD_DELAY", "CONCURRENT_REQUESTS_PER_DOMAIN",
                "DEPTH_LIMIT", "PORTAL_MAX_PAGES")}
            session = cls(
                Path(settings["ARCHIVE_DATA_DIR"]),
                crawler.spider.portal,
                max_size=settings.getint("ARCHIVE_WARC_MAX_SIZE"),
                operator=settings["ARCHIVE_OPERATOR"],
                settings_summary=summary,
                gzip_level=settings.getint("ARCHIVE_WARC_GZIP_LEVEL", DEFAULT_GZIP_LEVEL),
            )
            crawler._archive_session = session  # type: ignore[attr-defined]
            crawler.signals.connect(session.close, signal=signals.spider_closed)
        return session

    def add_capture(self, url: str, pointer: RecordPointer, *, status: int,
                    content_type: str, time: str) -> None:
        self.pending[pointer.record_id] = {
            "run_id": self.run_id, "portal": self.portal.id, "url": url, "time": time,
            "status": status, "content_type": content_type, "page_type": None,
            "record_type": pointer.record_type, "record_id": pointer.record_id,
            "payload_digest": pointer.payload_digest, "warc_file": pointer.warc_file,
            "warc_offset": pointer.offset, "warc_length": pointer.length,
        }
        if len(self.pending) >= CAPTURE_BATCH:
            self.flush()

    def previous_capture(self, url: str, digest: str | None = None) -> dict[str, Any] | None:
        """The latest archived full response for ``url`` (with ``digest``, if given)."""
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
            self.db.execute(
                "update captures set page_type = ? where record_id = ?", [page_type, record_id]
            )

    def flush(self) -> None:
        # WARC first: the index never points at bytes that are not on disk.
        self.warc.flush()
        if self.pending:
            with self.db.conn:
                index.insert_captures(self.db, self.pending.values())
            self.pending.clear()

    def close(self, spider: object = None, reason: str = "finished") -> None:
        if self.page_types:
            # Page types are decided after the capture is written: keep them in the WARC
            # too, so that a reindex restores them.
            self.warc.metadata(f"urn:portal-archive:run:{self.run_id}:page-types",
                               {"page_types": self.page_types},
                               refers_to=None, record_type="metadata")
        self.flush()
        self.warc.close()
        self.db["runs"].update(self.run_id, {
            "ended": index.now(),
            "status": reason,
            "stats": json.dumps({**self.counts, "warc_bytes": self.warc.bytes_written}),
        })
        self.db.close()
