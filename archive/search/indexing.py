"""Keeping the search tables in step with the articles table: an article indexed when it is
stored, unindexed before it changes, every article at once (a migration), and the tiers
relearned as the archive grows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from archive.search.tables import AUX_TABLE, FTS_COLUMNS, FTS_TABLE, META_TABLE, TERMS_TABLE, plain
from archive.search.terms import meta_tokens, pairs_text, search_columns
from archive.search.tiers import (
    CANDIDATES,
    MIN_SAMPLE_DF,
    SAMPLE,
    TIERS_CACHE,
    article_rows,
    count_terms,
    learn_tiers,
    tiers_of,
)

if TYPE_CHECKING:
    from archive.search.tables import Connection

def _rows(db: Connection, rowid: int, row: dict[str, Any],
          columns: list[str] | None) -> tuple[list[Any], list[Any]]:
    columns = columns or search_columns(row)
    meta = meta_tokens(row)
    return ([rowid, *columns, " ".join(meta), pairs_text(columns)],
            [rowid, " ".join(tiers_of(db).tokens(columns, meta))])


def index_article(db: Connection, rowid: int, row: dict[str, Any],
                  columns: list[str] | None = None) -> None:
    """Add one article (its ``articles`` rowid and row, and its ``search_columns`` if known)
    to the search index."""
    main, aux = _rows(db, rowid, row, columns)
    db.execute(f"insert into {FTS_TABLE}(rowid, {', '.join(FTS_COLUMNS)}) "
               "values (?, ?, ?, ?, ?, ?, ?)", main)
    db.execute(f"insert into {AUX_TABLE}(rowid, tokens) values (?, ?)", aux)


def unindex_article(db: Connection, rowid: int, row: dict[str, Any]) -> None:
    """Remove an article as it was indexed (a contentless table needs the old values; the
    tiers it went to are the same as long as ``search_terms`` is, and ``maintain`` rewrites
    every article's when it changes that)."""
    main, aux = _rows(db, rowid, row, None)
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, {', '.join(FTS_COLUMNS)}) "
               "values ('delete', ?, ?, ?, ?, ?, ?, ?)", main)
    db.execute(f"insert into {AUX_TABLE}({AUX_TABLE}, rowid, tokens) values ('delete', ?, ?)",
               aux)


def create_tables(db: Connection) -> None:
    # detail=column: which columns hold a word, not where in them (positions were four
    # fifths of the table); phrases are found by their pairs, which need '-' in a token.
    db.execute(f"create virtual table {FTS_TABLE} using fts5({', '.join(FTS_COLUMNS)}, "
               "content='', detail=column, "
               "tokenize=\"unicode61 remove_diacritics 0 tokenchars '-'\")")
    db.execute(f"create virtual table {AUX_TABLE} using fts5(tokens, content='', detail=none, "
               "tokenize=\"unicode61 remove_diacritics 0 tokenchars '-'\")")
    db.execute(f"create virtual table {FTS_TABLE}_vocab using fts5vocab({FTS_TABLE}, row)")
    db.execute(f"create table {TERMS_TABLE} (term text primary key, df real, l1 real, l2 real, "
               "l3 real, l4 real, l5 real, l6 real) without rowid")
    db.execute(f"create table {META_TABLE} (name text primary key, value real)")


def drop_tables(db: Connection) -> None:
    for name in (f"{FTS_TABLE}_vocab", FTS_TABLE, AUX_TABLE, TERMS_TABLE, META_TABLE):
        db.execute(f"drop table if exists {name}")
    TIERS_CACHE.clear()


def create_index(db: Connection, *, progress: Callable[[int], None] | None = None) -> None:
    """Create the search tables and index every article (a migration, or a benchmark's
    archive): the tiers' thresholds are learned first, from a sample."""
    drop_tables(db)
    create_tables(db)
    learn_tiers(db)
    conn = plain(db)
    batch: list[tuple[list[Any], list[Any]]] = []
    for n, row in enumerate(article_rows(db), 1):
        batch.append(_rows(db, row.pop("rowid"), row, None))
        if len(batch) == 1000:
            _insert(conn, batch)
            batch = []
        if progress and n % 10000 == 0:
            progress(10000)
    _insert(conn, batch)
    count_terms(db)


def _insert(conn: sqlite3.Connection, rows: list[tuple[list[Any], list[Any]]]) -> None:
    conn.executemany(f"insert into {FTS_TABLE}(rowid, {', '.join(FTS_COLUMNS)}) "
                     "values (?, ?, ?, ?, ?, ?, ?)", [main for main, _ in rows])
    conn.executemany(f"insert into {AUX_TABLE}(rowid, tokens) values (?, ?)",
                     [aux for _, aux in rows])


def maintain(db: Connection, *, growth: float = 4.0, min_articles: int = CANDIDATES,
             sample: int = SAMPLE, min_df: int = MIN_SAMPLE_DF) -> bool:
    """Relearn the tiers when the archive (of ``min_articles`` or more) has no thresholds yet
    or has grown ``growth`` times since they were learned, and rewrite every article's tiers
    with them (a few minutes at a million articles; a crawl calls this when it ends and
    growth makes it rare). True if it did."""
    conn = plain(db)
    total = conn.execute("select count(*) from articles").fetchone()[0]
    learned = conn.execute(f"select value from {META_TABLE} where name = 'articles'").fetchone()
    if total < min_articles or (learned and total < growth * learned[0]):
        return False
    learn_tiers(db, sample=sample, min_df=min_df)
    tiers = tiers_of(db)
    conn.execute(f"insert into {AUX_TABLE}({AUX_TABLE}) values ('delete-all')")
    for row in article_rows(db):
        key = row.pop("rowid")
        conn.execute(f"insert into {AUX_TABLE}(rowid, tokens) values (?, ?)",
                     [key, " ".join(tiers.tokens(search_columns(row), meta_tokens(row)))])
    count_terms(db)
    return True
