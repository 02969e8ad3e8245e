"""Check an archive: every WARC record complete and parseable, its digests right, and every
pointer of the index resolving to the record it names. Optionally repair what a crash
leaves: a torn last record in a file that was never closed."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive import index
from archive.progress import Progress
from archive.warc import OPEN_SUFFIX
from archive.warcfiles import (
    TornMember,
    digest_problems,
    iter_members,
    parse_record,
    read_record,
    warc_files,
)


@dataclass
class Report:
    files: int = 0
    records: int = 0
    pointers: int = 0
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "files": self.files, "records": self.records,
                "pointers": self.pointers, "problems": self.problems, "repairs": self.repairs}


def verify(data_dir: Path, *, repair: bool = False, progress: Progress | None = None,
           ) -> Report:
    """Check every WARC file (``progress`` counts their bytes), then every pointer of the
    index (a stage of its own)."""
    report = Report()
    warc_dir = data_dir / "warc"
    for path in warc_files(warc_dir, include_open=True):
        _check_file(path, report, repair, progress)
    db_path = data_dir / "index.db"
    if db_path.exists():
        _check_pointers(data_dir, report, repair, progress)
    return report


def _check_file(path: Path, report: Report, repair: bool,
                progress: Callable[[int], None] | None) -> None:
    report.files += 1
    good_end = 0
    try:
        for member in iter_members(path):
            report.records += 1
            good_end = member.offset + member.length
            if progress:
                progress(member.length)
            try:
                record = parse_record(member.data, check_digests=True)
            except Exception as e:  # any parse failure is a finding, not a crash
                report.problems.append(f"{path.name}@{member.offset}: unreadable record ({e})")
                continue
            for problem in digest_problems(record):
                report.problems.append(f"{path.name}@{member.offset}: {problem}")
    except TornMember as torn:
        size = path.stat().st_size
        if repair and path.name.endswith(OPEN_SUFFIX):
            with open(path, "r+b") as fh:
                fh.truncate(good_end)
                fh.flush()
                os.fsync(fh.fileno())
            closed = path.with_name(path.name[: -len(OPEN_SUFFIX)])
            os.replace(path, closed)
            report.repairs.append(
                f"{path.name}: removed a torn record of {size - good_end} bytes at offset "
                f"{good_end} ({torn.reason}); renamed to {closed.name}")
        else:
            hint = " (run verify --repair)" if path.name.endswith(OPEN_SUFFIX) else ""
            report.problems.append(f"{path.name}: {torn}{hint}")
        return
    if repair and path.name.endswith(OPEN_SUFFIX):
        # Complete but never closed (the crawl was killed between records): close it.
        closed = path.with_name(path.name[: -len(OPEN_SUFFIX)])
        os.replace(path, closed)
        report.repairs.append(f"{path.name}: complete; renamed to {closed.name}")


def _check_pointers(data_dir: Path, report: Report, repair: bool,
                    progress: Progress | None) -> None:
    # Checking only reads: a read-only archive is verified as it is.
    path = data_dir / "index.db"
    db = index.open_index(path) if repair else index.open_index_readonly(path)
    if progress is not None:
        progress.stage("Checking the index", db.execute(
            "select (select count(*) from captures) + (select count(*) from articles)"
        ).fetchone()[0])
    warc_dir = data_dir / "warc"
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
            except Exception as e:  # a damaged file is a finding, not a crash
                report.problems.append(f"{where}: pointer {row['warc_file']}@"
                                       f"{row['warc_offset']} does not resolve ({e})")
                continue
            found = record.rec_headers.get_header("WARC-Record-ID")
            if kind == "capture" and found != row["record_id"]:
                report.problems.append(f"{where}: pointer finds record {found}")
            if kind == "article" and record.rec_type not in ("response", "revisit"):
                report.problems.append(f"{where}: pointer finds a {record.rec_type} record")
    db.close()
