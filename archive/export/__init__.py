"""Export clean corpora for analysts: the archive's articles as JSON Lines, CSV, Parquet, plain
text or WACZ, each record with its provenance, and a datasheet describing the export.

Records stream from one SQLite cursor to one writer, so memory stays flat however large the
archive. The package, from the bottom up: ``records`` (the fields every format writes, the
error an export reports: imports nothing of the package), one module per writer, ``formats``
(the table of writers), ``datasheet``, and here the selection and the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from archive import clusters
from archive.export.datasheet import Summary, write_datasheet
from archive.export.formats import FORMATS, writer_for
from archive.export.records import FIELDS, ExportError, record
from archive.filters import Filters
from archive.paths import remove_tree
from archive.progress import Progress
from archive.query import QueryError, parse_query
from archive.search import MATCHES
from archive.search.scoring import Scorer

__all__ = ["FIELDS", "FORMATS", "ExportError", "Summary", "count_records", "export",
           "iter_records"]

BATCH = 500  # rows fetched from the cursor at a time

def selection(db: sqlite_utils.Database, query: str | None, filters: Filters, *,
              dedup: bool) -> tuple[str, list[Any]]:
    """The SQL ``from ... where`` selecting the exported articles, and its parameters:
    those a search for ``query`` finds (when given), kept by ``filters``."""
    condition, params = filters.sql(db)
    if query:
        try:
            parsed = parse_query(query)
        except QueryError as e:
            raise ExportError(f"query {query!r}: {e}") from e
        condition, params = f"{MATCHES} and {condition}", [parsed.fts("folded"), *params]
        if parsed.needs_check("folded"):
            # What the expression finds is checked against the text (a phrase of three
            # words or more: its pairs may be apart), as a search does.
            holds = Scorer(db, parsed, "folded").holds
            db.conn.create_function("query_holds", 3, holds, deterministic=True)
            condition += " and query_holds(a.title, a.summary, a.text)"
    sql = ("from articles a left join portals p on p.id = a.portal "
           "left join article_clusters c on c.article_id = a.id "
           f"where {condition}")
    if dedup:
        # One record per cluster among the selected ones: the earliest published.
        sql = ("from (select a.*, p.name as portal_name, p.province, p.district, "
               "coalesce(c.cluster, a.id) as cluster, row_number() over ("
               "partition by coalesce(c.cluster, a.id) "
               "order by a.published is null, a.published, a.id) as rank_in_cluster "
               f"{sql}) a where a.rank_in_cluster = 1")
    return sql, params


def iter_records(db: sqlite_utils.Database, query: str | None, filters: Filters, *,
                 dedup: bool = False) -> Iterator[dict[str, Any]]:
    """The export records, in portal then publication order, fetched in batches."""
    from_sql, params = selection(db, query, filters, dedup=dedup)
    columns = ("a.*" if dedup else
               "a.*, p.name as portal_name, p.province, p.district, "
               "coalesce(c.cluster, a.id) as cluster")
    cursor = db.execute(
        f"select {columns} {from_sql} order by a.portal, a.published is null, a.published, a.id",
        params)
    names = [d[0] for d in cursor.description]
    while rows := cursor.fetchmany(BATCH):
        for values in rows:
            yield record(dict(zip(names, values, strict=True)))


def cluster_counts(db: sqlite_utils.Database, query: str | None, filters: Filters, *,
                   dedup: bool = False) -> dict[str, int]:
    """Clusters holding more than one exported record, and the duplicates they hold (records
    beyond the first of their cluster), counted by SQLite rather than in memory."""
    from_sql, params = selection(db, query, filters, dedup=dedup)
    cluster = "a.cluster" if dedup else "coalesce(c.cluster, a.id)"
    row = db.execute(
        f"select count(*), coalesce(sum(n - 1), 0) from (select {cluster} as k, count(*) as n "
        f"{from_sql} group by k having n > 1)", params).fetchone()
    return {"clusters_with_duplicates": row[0], "duplicates": row[1]}


def count_records(db: sqlite_utils.Database, query: str | None, filters: Filters, *,
                  dedup: bool = False) -> int:
    from_sql, params = selection(db, query, filters, dedup=dedup)
    return db.execute(f"select count(*) {from_sql}", params).fetchone()[0]


def check_output(output: Path, *, force: bool) -> None:
    """``output`` may be written: it does not exist, is an empty directory, or (with
    ``force``) holds a previous export (its datasheet.json), never a directory of other
    files."""
    if output.exists():
        if not output.is_dir():
            raise ExportError(f"{output} is a file: --output names a directory to create")
        if any(output.iterdir()):
            if not force:
                raise ExportError(f"{output} exists and is not empty: choose a new --output, "
                                  "or add --force to replace a previous export there")
            if not (output / "datasheet.json").exists():
                raise ExportError(f"{output} holds files that are not an export (no "
                                  "datasheet.json): --force only replaces a previous export")


def partial_output(output: Path) -> Path:
    """Where an export is written before it is complete: a hidden folder beside ``output``
    (on the same file system, so that the rename that completes it is atomic). One left by an
    export that was killed is removed."""
    partial = output.with_name(f".{output.name}.partial")
    try:
        remove_tree(output.parent, partial)
        partial.mkdir(parents=True)
    except OSError as e:  # said of --output, which the user named, not of the folder beside it
        raise OSError(e.errno, e.strerror, str(output)) from None
    return partial


def complete(partial: Path, output: Path) -> None:
    """Put the finished export in place of ``output`` (and of the export it replaces)."""
    old = output.with_name(f".{output.name}.replaced")
    remove_tree(output.parent, old)
    if output.exists():
        os.replace(output, old)
    os.replace(partial, output)
    remove_tree(output.parent, old)


def export(
    db: sqlite_utils.Database,
    *,
    data_dir: Path,
    fmt: str,
    output: Path,
    query: str | None = None,
    filters: Filters | None = None,
    dedup: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    options: dict[str, Any] | None = None,
) -> Summary:
    """Write the articles a search for ``query`` finds (all when None), kept by ``filters``, to
    ``output`` (a directory) in ``fmt``, then its datasheet. ``progress`` is called with the
    number of records written since its last call; ``options`` go to the format's writer
    (``bom`` for CSV)."""
    make_writer = writer_for(fmt)  # a missing library is reported before anything is written
    filters = filters or Filters()
    # So is a query with nothing to look for, or one SQLite refuses: run it once first.
    from_sql, params = selection(db, query, filters, dedup=dedup)
    db.execute(f"select 1 {from_sql} limit 1", params).fetchall()
    clusters.update_clusters(db)
    check_output(output, force=force)
    # Written aside and renamed once complete: a killed export never looks like a finished one.
    work = partial_output(output)
    summary = Summary(format=fmt, layout=make_writer.layout, output=str(output))
    writer = make_writer(work, data_dir=data_dir, **(options or {}))
    for rec in iter_records(db, query, filters, dedup=dedup):
        writer.write(rec)
        summary.count(rec)
        if progress:
            progress(1)
    if progress is not None and make_writer.finishing:
        progress.stage(make_writer.finishing, 0)  # the records are written, not the package
    summary.files = writer.close()
    summary.damaged = [str(d) for d in getattr(writer, "damages", [])]
    summary.near_duplicates = cluster_counts(db, query, filters, dedup=dedup)
    if dedup:
        summary.near_duplicates["dropped_by_dedup"] = (count_records(db, query, filters)
                                                       - summary.records)
    chosen = {"query": query, **filters.active()} if query else filters.active()
    write_datasheet(work, summary, chosen, dedup=dedup)
    complete(work, output)
    return summary
