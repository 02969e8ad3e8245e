"""Rebuild the SQLite index from the WARC files alone.

Each file's ``warcinfo`` names its portal and crawl run; response, revisit and resource
records become captures; each ``conversion`` record holds an article exactly as the crawl
stored it, and goes through the same ``store_article`` as the crawl did, in the order the
crawl wrote them, so new, changed and alternate URLs come out the same. The session's
closing ``metadata`` record restores page types, and the ``metadata`` record after each capture
recovered from a web archive its source. What WARC does not hold (run statistics,
learned templates) is copied from the old index when there is one.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from archive import index, search
from archive.paths import remove_file
from archive.warc import NOT_MODIFIED_PROFILE, OPEN_SUFFIX
from archive.warcfiles import Damage, iter_members, parse_record, readable_records, warc_files

CAPTURE_TYPES = ("response", "revisit", "resource")
# Not in WARC: carried over from the old index (run history, learned templates, alarms).
KEPT_TABLES = ("runs", "templates", "portal_health")


def rebuild(data_dir: Path, files: Iterable[Path] | None = None, *,
            progress: Callable[[int], None] | None = None,
            on_damage: Callable[[Damage], None] | None = None,
            notes: list[str] | None = None) -> dict[str, int]:
    """Rebuild ``data_dir/index.db`` from ``files`` (default: every closed WARC file of the
    archive) into a new file, then swap it in; return counts of what was read. A damaged
    region of a file is skipped and reported to ``on_damage`` (default: raised as
    TornMember); every readable record around it is read. What is worth saying but did not
    stop the rebuild (an old index too damaged to carry anything over) goes to ``notes``."""
    warc_dir = data_dir / "warc"
    files = list(files) if files is not None else warc_files(warc_dir)
    target = data_dir / "index.db"
    fresh = data_dir / "index.db.reindex"
    for leftover in (fresh, Path(f"{fresh}-wal"), Path(f"{fresh}-shm")):
        remove_file(data_dir, leftover)
    db = index.open_index(fresh)
    index.pause_tools_fts(db)  # filled in one pass at the end
    counts = {"files": 0, "records": 0, "captures": 0, "articles": 0}
    try:
        if target.exists():
            try:
                _copy_tables(target, db)
            except sqlite3.DatabaseError as e:  # the very reason to reindex, often
                db.conn.rollback()
                with contextlib.suppress(sqlite3.Error):
                    db.execute("detach database old")
                (notes if notes is not None else []).append(
                    f"{target} could not be read ({e}): run history, learned templates and "
                    "health verdicts, which WARC does not hold, are not carried over")
        for path in files:
            _read_file(db, path, counts, progress, on_damage=on_damage)
            counts["files"] += 1
        search.maintain(db, growth=1.0)  # the tiers learned from the whole archive
        db.conn.commit()
        index.tools_fts_in_step(db)
    finally:
        db.close()
    os.replace(fresh, target)
    for suffix in ("-wal", "-shm"):
        remove_file(data_dir, f"{target}{suffix}")
        remove_file(data_dir, f"{fresh}{suffix}")
    return counts


def _copy_tables(old_path: Path, db: Any) -> None:
    db.execute("attach database ? as old", [str(old_path)])
    for table in KEPT_TABLES:
        exists = db.execute("select 1 from old.sqlite_master where name = ?", [table]).fetchone()
        if exists:
            columns = [c.name for c in db[table].columns]
            old_columns = {r[1] for r in db.execute(f"pragma old.table_info([{table}])")}
            shared = ", ".join(f"[{c}]" for c in columns if c in old_columns)
            db.execute(f"insert or replace into main.[{table}] ({shared}) "
                       f"select {shared} from old.[{table}]")
    db.conn.commit()
    db.execute("detach database old")


def index_file(db: Any, path: Path, counts: dict[str, int],
               progress: Callable[[int], None] | None = None, *,
               on_damage: Callable[[Damage], None] | None = None) -> None:
    """Add the records of one WARC file to the index ``db`` (another archive's file being
    merged: archive/merge.py); ``counts`` grows."""
    _read_file(db, path, counts, progress, on_damage=on_damage)


def catch_up(db: Any, path: Path, missing: set[str]) -> dict[str, int]:
    """Add to the index the records of ``path`` it lacks (``missing``: their record ids), as
    the crawl would have had it not been killed first: captures, then articles in the order
    they were written; page types and other URLs of the file again (both idempotent)."""
    counts = {"records": 0, "captures": 0, "articles": 0}
    _read_file(db, path, counts, None, only=missing, on_damage=lambda damage: None)
    return counts


def _read_warcinfo(db: Any, record: Any, portal: dict[str, Any]
                   ) -> tuple[dict[str, Any], int | None]:
    """The portal and run a file's warcinfo names (kept in the index); the portal met before
    when it names none."""
    info = _warcinfo_fields(record.payload)
    if info.get("portal"):
        portal = json.loads(info["portal"])
        index.upsert_portal(db, portal)
    run_id = int(info["run-id"]) if info.get("run-id", "").isdigit() else None
    if run_id is not None and not db.execute(
            "select 1 from runs where id = ?", [run_id]).fetchone():
        db["runs"].insert({"id": run_id, "started": record.rec_headers.get_header("WARC-Date"),
                           "portals": portal.get("id"), "status": "reindexed"})
    return portal, run_id


def _capture_row(record: Any, member: Any, warc_file: str, *, run_id: int | None,
                 portal: str | None) -> dict[str, Any]:
    """The ``captures`` row of a request, response or revisit record."""
    headers, http = record.rec_headers, record.http_headers
    content_type = http.get_header("Content-Type") if http else None
    return {
        "run_id": run_id, "portal": portal,
        "url": headers.get_header("WARC-Target-URI"),
        "time": headers.get_header("WARC-Date"),
        "status": int(http.get_statuscode()) if http else None,
        "content_type": content_type or "", "page_type": None,
        "record_type": record.rec_type, "record_id": headers.get_header("WARC-Record-ID"),
        "payload_digest": headers.get_header("WARC-Payload-Digest"),
        "warc_file": warc_file, "warc_offset": member.offset,
        "warc_length": member.length, "source": index.LIVE,
    }


def _read_metadata(db: Any, record: Any, captures: dict[str, dict[str, Any]],
                   page_types: dict[str, str]) -> None:
    """What a metadata record adds: page types, a recovered capture's source, other URLs."""
    data = json.loads(record.payload or b"{}")
    page_types.update(data.get("page_types", {}))
    # Recovery: the record before this one came from a web archive (archive/recover)
    recovered = captures.get(record.rec_headers.get_header("WARC-Refers-To") or "")
    if recovered is not None and data.get("source"):
        recovered["source"] = data["source"]
    # Crawler: links to stored articles found after the article (crawler/incremental.py)
    index.add_alternate_urls(db, data.get("alternate_urls", {}))


def _read_file(db: Any, path: Path, counts: dict[str, int],
               progress: Callable[[int], None] | None, *, only: set[str] | None = None,
               on_damage: Callable[[Damage], None] | None = None) -> None:
    """Index the records of ``path`` (only those whose ids are in ``only``, when given)."""
    portal: dict[str, Any] = {}
    run_id: int | None = None
    captures: dict[str, dict[str, Any]] = {}
    page_types: dict[str, str] = {}
    name = path.name.removesuffix(OPEN_SUFFIX)
    records = (readable_records(path, on_damage) if on_damage is not None
               else ((m, parse_record(m.data)) for m in iter_members(path)))
    with db.conn:
        for member, record in records:
            counts["records"] += 1
            if progress:
                progress(member.length)
            headers = record.rec_headers
            kind = record.rec_type
            if kind == "warcinfo":
                portal, run_id = _read_warcinfo(db, record, portal)
            elif kind in CAPTURE_TYPES:
                row = _capture_row(record, member, name, run_id=run_id, portal=portal.get("id"))
                captures[row["record_id"]] = row
                if headers.get_header("WARC-Profile") == NOT_MODIFIED_PROFILE and (
                        only is None or row["record_id"] in only):
                    # As the crawl did on the 304: the article of the page is unchanged.
                    index.touch_article(db, row["url"], row["time"])
            elif kind == "conversion":
                if only is None or headers.get_header("WARC-Record-ID") in only:
                    _store_conversion(db, record, captures, counts)
            elif kind == "metadata":
                _read_metadata(db, record, captures, page_types)
    if only is not None:
        captures = {r: row for r, row in captures.items() if r in only}
    with db.conn:
        index.insert_captures(db, captures.values())
        # The closing record of a crawl may sit in a later file than the captures it types.
        db.conn.executemany("update captures set page_type = ? where record_id = ?",
                            [(t, r) for r, t in page_types.items()])
    counts["captures"] += len(captures)


def _store_conversion(db: Any, record: Any, captures: dict[str, dict[str, Any]],
                      counts: dict[str, int]) -> None:
    payload = json.loads(record.payload)
    capture = captures.get(record.rec_headers.get_header("WARC-Refers-To") or "", {})
    row = {k: v for k, v in payload.items() if k not in ("fetched_url", "body")}
    row["record_id"] = record.rec_headers.get_header("WARC-Record-ID")
    captured = capture.get("time") or record.rec_headers.get_header("WARC-Date")
    index.store_article(db, row, captured=captured)
    counts["articles"] += 1


def _warcinfo_fields(payload: bytes) -> dict[str, str]:
    fields = {}
    for line in payload.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields
