"""One archive from many: the data directories of a distributed crawl's workers (or any other
archives) merged into this one, which search, export, show and verify then read as a whole.

Each worker writes its own data directory; no two processes ever write one SQLite file. The
merge copies the WARC files this archive lacks (a hard link when both are on one filesystem;
names are unique across a cluster: they carry the worker's id) and indexes them, in the order
they were written, through the same code as ``reindex``: WARC stays the source of truth. Run
rows (ids are unique across a cluster) and learned templates, which WARC does not hold, are
copied from the workers' indexes. Only closed files are taken (a live worker's ``.open`` ones
are still being written), and a file already indexed is skipped, so merging again, while the
workers go on, adds only what is new. The open file of a worker that was killed is closed first (see
``_close_dead_files``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlite_utils

from archive import index, reindex, runs, search
from archive.lock import LockedError, RunLock
from archive.verify import verify
from archive.warc import OPEN_SUFFIX
from archive.warcfiles import warc_files


class MergeError(ValueError):
    """Two archives disagree (a WARC file name, a run id): said in one line."""


def merge(target: Path, sources: Iterable[Path], *,
          progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Merge ``sources`` (data directories) into the archive at ``target``; the caller holds
    ``target``'s lock. Return counts of what was added."""
    sources = [Path(s) for s in sources]
    for source in sources:
        if not (source / "warc").is_dir():
            raise MergeError(f"{source} is no archive: it has no warc/ directory")
        if source.resolve() == Path(target).resolve():
            raise MergeError(f"{source} is the archive being merged into")
    warc_dir = Path(target) / "warc"
    warc_dir.mkdir(parents=True, exist_ok=True)
    db = index.open_index(Path(target) / "index.db")
    counts = {"files": 0, "records": 0, "captures": 0, "articles": 0, "runs": 0,
              "templates": 0}
    try:
        for source in sources:
            _gather(source, db, warc_dir, counts)
        for path in warc_files(warc_dir):  # every file of every worker, in the order written
            if not _indexed(db, path.name):
                reindex.index_file(db, path, counts, progress)
                counts["files"] += 1
        search.maintain(db)  # as a crawl does when it ends: the search tiers, if grown
        # The figures a crawl's job writes into its runs when it ends (a worker's job never
        # ends that way): new, changed and unchanged articles, revisits, bytes.
        for (job,) in db.execute("select distinct job from runs where job is not null and "
                                 "new is null").fetchall():
            runs.summarize_job(db, job)
        db.conn.commit()
    finally:
        db.close()
    return counts


def _gather(source: Path, db: sqlite_utils.Database, warc_dir: Path,
            counts: dict[str, int]) -> None:
    """Copy what the archive lacks of ``source``: its runs and templates, its WARC files."""
    _close_dead_files(source)
    if (source / "index.db").exists():
        _copy_tables(source / "index.db", db, counts)
    for path in warc_files(source / "warc"):
        if not _indexed(db, path.name):
            _copy_file(path, warc_dir / path.name)


def pending_bytes(target: Path, sources: Iterable[Path]) -> int:
    """Bytes of the WARC files a merge would add (for a progress bar)."""
    path = Path(target) / "index.db"
    db = index.open_index(path) if path.exists() else None
    try:
        return sum(p.stat().st_size for s in sources for p in warc_files(Path(s) / "warc")
                   if db is None or not _indexed(db, p.name))
    finally:
        if db is not None:
            db.close()


def _close_dead_files(source: Path) -> None:
    """A worker killed outright leaves its last WARC file open: when no crawl holds the
    directory's lock any more, close it as ``verify --repair`` does (a torn last record cut
    off), so that what it holds is merged. A live worker's open files are left alone."""
    if not any((source / "warc").glob(f"*{OPEN_SUFFIX}")):
        return
    try:
        with RunLock(source):
            verify(source, repair=True)
    except LockedError:
        pass


def _indexed(db: sqlite_utils.Database, name: str) -> bool:
    # Captures are the last rows a file's indexing writes (archive/reindex.py).
    return db.execute("select 1 from captures where warc_file = ? limit 1",
                      [name]).fetchone() is not None


def _copy_file(source: Path, target: Path) -> None:
    if target.exists():
        if target.stat().st_size != source.stat().st_size:
            raise MergeError(f"{target} and {source} have one name but differ: not merging")
        return
    partial = target.with_name(target.name + OPEN_SUFFIX)
    partial.unlink(missing_ok=True)
    try:
        os.link(source, partial)
    except OSError:  # another filesystem (or no hard links): copy
        shutil.copyfile(source, partial)
    os.replace(partial, target)


def _copy_tables(path: Path, db: sqlite_utils.Database, counts: dict[str, int]) -> None:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    source.row_factory = sqlite3.Row
    try:
        for run in _rows(source, "runs"):
            mine = db.execute("select portals from runs where id = ?", [run["id"]]).fetchone()
            if mine is None:
                db["runs"].insert(_known_columns(db, "runs", run))
                counts["runs"] += 1
            elif mine[0] != run["portals"]:
                raise MergeError(f"run {run['id']} of {path} is another run than this "
                                 "archive's run of that id: were these archives crawled by "
                                 "one cluster?")
            else:  # a run this archive knew (from an earlier merge): its latest figures
                db["runs"].update(run["id"], _known_columns(db, "runs", run))
        for template in _rows(source, "templates"):
            mine = db.execute("select updated from templates where host = ?",
                              [template["host"]]).fetchone()
            if mine is None or (mine[0] or "") < (template["updated"] or ""):
                db["templates"].upsert(dict(template), pk="host")
                counts["templates"] += 1
        db.conn.commit()
    finally:
        source.close()


def _rows(conn: sqlite3.Connection, table: str) -> list[sqlite3.Row]:
    if not conn.execute("select 1 from sqlite_master where name = ?", [table]).fetchone():
        return []
    return conn.execute(f"select * from [{table}]").fetchall()


def _known_columns(db: sqlite_utils.Database, table: str, row: Any) -> dict[str, Any]:
    columns = {c.name for c in db[table].columns}
    return {k: row[k] for k in row.keys() if k in columns}
