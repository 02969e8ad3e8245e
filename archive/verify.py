"""Check an archive, and with ``repair`` mend what a crash leaves.

Checked: every WARC record complete and readable, its digests right; every pointer of the
index resolving to the record it names; every record of the WARC files in the index (WARC is
the source of truth: a crawl killed between writing a record and its index row leaves one
out); no WARC file left ``.open`` and no run left ``running`` by a crawl that is gone.

Repaired (``verify --repair``, under the data directory's lock): a torn last record of a file
that was never closed is cut off and the file closed; the records the index lacks are added
to it, as the crawl would have added them; runs left ``running`` are marked ``killed`` (half a
crawl with no figures: the health alarms leave such runs out, archive/runs.py). A
damaged region inside a file is reported (file, offset, size), never cut out: the records
around it are read by every command.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from archive import index
from archive.lock import is_held
from archive.progress import Progress
from archive.reindex import CAPTURE_TYPES, catch_up
from archive.warc import OPEN_SUFFIX
from archive.warcfiles import Damage, digest_problems, iter_members, parse_record, read_record
from archive.warcfiles import warc_files as list_warc_files

REPAIR_HINT = "run 'portal-archive verify --repair'"


@dataclass
class Report:
    files: int = 0
    records: int = 0
    pointers: int = 0
    missing: int = 0  # WARC records the index lacks
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth saying, not wrong

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "files": self.files, "records": self.records,
                "pointers": self.pointers, "missing": self.missing,
                "problems": self.problems, "repairs": self.repairs, "notes": self.notes}


@dataclass
class FileRecords:
    """What one WARC file holds that the index should too."""

    captures: dict[str, str] = field(default_factory=dict)  # record id -> WARC-Date
    conversions: list[dict[str, Any]] = field(default_factory=list)


def verify(data_dir: Path, *, repair: bool = False, progress: Progress | None = None,
           ) -> Report:
    """Check the archive in ``data_dir``: every WARC file (``progress`` counts their bytes),
    then every pointer of the index (a stage of its own); with ``repair`` (the caller holds
    the data directory's lock), mend what a killed crawl leaves."""
    report = Report()
    crawling = not repair and is_held(data_dir)
    if crawling:
        report.notes.append("a crawl is running: its .open WARC file and its run are in use")
    db_path = data_dir / "index.db"
    db = None
    if db_path.exists():
        # Checking only reads: a read-only archive is verified as it is.
        db = index.open_index(db_path) if repair else index.open_index_readonly(db_path)
    try:
        for path in list_warc_files(data_dir / "warc", include_open=True):
            found, closed = _check_file(path, report, repair, crawling, progress)
            # The running crawl's own file: its last rows reach the index in a moment.
            in_use = crawling and closed.name.endswith(OPEN_SUFFIX)
            if db is not None and not in_use:
                _check_indexed(db, closed, found, report, repair)
        if db is not None:
            _check_pointers(db, data_dir / "warc", report, progress)
            if not crawling:
                _check_runs(db, report, repair)
    finally:
        if db is not None:
            db.close()
    return report


def _check_file(path: Path, report: Report, repair: bool, crawling: bool,
                progress: Progress | None) -> tuple[FileRecords, Path]:
    """Check one file; return what it holds and where it is now (renamed if closed here)."""
    report.files += 1
    found = FileRecords()
    damages: list[Damage] = []
    for member in iter_members(path, on_damage=damages.append):
        report.records += 1
        if progress:
            progress(member.length)
        try:
            record = parse_record(member.data, check_digests=True)
        except Exception as e:  # noqa: BLE001 - any parse failure is a finding, not a crash
            damages.append(Damage(path.name, member.offset, member.length,
                                  f"not a WARC record ({str(e)[:100]})"))
            continue
        for problem in digest_problems(record):
            report.problems.append(f"{path.name}@{member.offset}: {problem}")
        _remember(found, record)
    if not path.name.endswith(OPEN_SUFFIX):
        report.problems += [str(d) for d in damages]
        return found, path
    size = path.stat().st_size
    torn = damages[-1] if damages and damages[-1].offset + damages[-1].length == size else None
    if crawling:  # the crawl writing it may be inside its last record right now
        report.problems += [str(d) for d in damages if d is not torn]
        return found, path
    if torn is not None and repair:
        damages.pop()
        with open(path, "r+b") as fh:
            fh.truncate(torn.offset)
            fh.flush()
            os.fsync(fh.fileno())
        report.repairs.append(f"{path.name}: removed a torn record of {torn.length} bytes at "
                              f"offset {torn.offset} ({torn.reason})")
    report.problems += [str(d) for d in damages]
    closed = path.with_name(path.name[: -len(OPEN_SUFFIX)])
    if repair:
        os.replace(path, closed)
        report.repairs.append(f"{path.name}: closed; renamed to {closed.name}")
        return found, closed
    torn_words = f", its last record torn ({torn.reason})" if torn else ""
    report.problems.append(f"{path.name}: never closed (a crawl was killed){torn_words}: "
                           f"{REPAIR_HINT}")
    return found, path


def _remember(found: FileRecords, record: Any) -> None:
    headers = record.rec_headers
    if record.rec_type in CAPTURE_TYPES:
        found.captures[headers.get_header("WARC-Record-ID")] = headers.get_header("WARC-Date")
    elif record.rec_type == "conversion":
        try:
            article = json.loads(record.payload)
        except ValueError:
            return
        found.conversions.append({
            "record_id": headers.get_header("WARC-Record-ID"), "url": article.get("url"),
            "portal": article.get("portal"), "digest": article.get("digest"),
            "refers_to": headers.get_header("WARC-Refers-To"),
            "date": headers.get_header("WARC-Date")})


def _check_indexed(db: sqlite_utils.Database, path: Path, found: FileRecords, report: Report,
                   repair: bool) -> None:
    """The records of ``path`` the index lacks: captures without their row, articles whose
    row is missing or older than the conversion record."""
    missing = set(found.captures) - _indexed(db, set(found.captures))
    for conversion in found.conversions:
        if not conversion["url"]:
            continue
        stored = index.find_article(db, conversion["portal"], url=conversion["url"],
                                    digest=conversion["digest"] or "")
        # The crawl stored the article with its capture's date (in this file, before it).
        captured = found.captures.get(conversion["refers_to"]) or conversion["date"]
        if stored is None or (stored["record_id"] != conversion["record_id"]
                              and (stored["last_seen"] or "") < captured):
            missing.add(conversion["record_id"])
    if not missing:
        return
    if repair:
        counts = catch_up(db, path, missing)
        report.repairs.append(f"{path.name}: {len(missing)} records added to the index "
                              f"({counts['captures']} captures, {counts['articles']} articles)")
    else:
        report.missing += len(missing)
        report.problems.append(f"{path.name}: {len(missing)} records missing from the index: "
                               f"{REPAIR_HINT}")


def _indexed(db: sqlite_utils.Database, record_ids: set[str]) -> set[str]:
    """Those of ``record_ids`` the index holds a capture row for."""
    ids = sorted(record_ids)
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found.update(r for (r,) in db.execute(
            f"select record_id from captures where record_id in "
            f"({', '.join('?' * len(chunk))})", chunk))
    return found


def _check_runs(db: sqlite_utils.Database, report: Report, repair: bool) -> None:
    """Runs left ``running`` by a crawl that is gone (no crawl holds the lock)."""
    for run in db.query("select id, portals, started from runs where status = 'running'"):
        last = db.execute("select max(time) from captures where run_id = ?",
                          [run["id"]]).fetchone()[0]
        what = f"run {run['id']} of {run['portals']} (started {run['started']})"
        if repair:
            db["runs"].update(run["id"], {"status": "killed", "ended": last or run["started"]})
            report.repairs.append(f"{what}: marked killed")
        else:
            report.problems.append(f"{what} never ended (the crawl was killed): {REPAIR_HINT}")
    if repair:
        db.conn.commit()


def _check_pointers(db: sqlite_utils.Database, warc_dir: Path, report: Report,
                    progress: Progress | None) -> None:
    if progress is not None:
        progress.stage("Checking the index", db.execute(
            "select (select count(*) from captures) + (select count(*) from articles)"
        ).fetchone()[0])
    queries = (
        ("capture", "select record_id, warc_file, warc_offset, warc_length from captures"),
        ("article", "select record_id as conversion, url, warc_file, warc_offset, warc_length "
                    "from articles"),
    )
    for kind, sql in queries:
        for row in db.query(sql):
            report.pointers += 1
            if progress is not None:
                progress(1)
            where = f"{kind} {row.get('record_id') or row.get('url')}"
            try:
                record = read_record(warc_dir, row["warc_file"], row["warc_offset"],
                                     row["warc_length"])
            except Exception as e:  # noqa: BLE001 - a damaged file is a finding, not a crash
                report.problems.append(f"{where}: pointer {row['warc_file']}@"
                                       f"{row['warc_offset']} does not resolve ({e})")
                continue
            found = record.rec_headers.get_header("WARC-Record-ID")
            if kind == "capture" and found != row["record_id"]:
                report.problems.append(f"{where}: pointer finds record {found}")
            if kind == "article" and record.rec_type not in ("response", "revisit"):
                report.problems.append(f"{where}: pointer finds a {record.rec_type} record")
