"""The search tables' names, and opening an index for searching.

``search_fts`` (folded and exact words, the filter terms in ``meta``, adjacent word pairs in
``pairs``; which columns hold a word, not where),
``search_aux`` (prefixes, impact tiers and the filter terms again, no positions), the frequent
words' tier thresholds (``search_terms``) and what they were learned from (``search_meta``):
``archive/search/indexing.py`` writes them, the other modules of ``archive/search/`` read them.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

    Connection = sqlite3.Connection | sqlite_utils.Database

FTS_TABLE = "search_fts"
AUX_TABLE = "search_aux"
TERMS_TABLE = "search_terms"
META_TABLE = "search_meta"
FTS_COLUMNS = ("title_f", "body_f", "title_x", "body_x", "meta", "pairs")
# An article's length (for bm25) is its tokens in the first five columns: its pairs, one
# fewer than its words per column, would only scale every length alike.
LENGTH_COLUMNS = 5
LIVE = "live"  # an article's source when the row does not say (articles.source's default)
# The condition on ``articles a`` that keeps the matches of one FTS5 expression (a parameter).
MATCHES = f"a.rowid in (select rowid from {FTS_TABLE} where {FTS_TABLE} match ?)"
# The migration (archive/index.py) that made the search tables what this module reads.
SEARCH_MIGRATION = "m_search_002_word_pairs"


def plain(db: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under a sqlite-utils Database (or the connection itself)."""
    return getattr(db, "conn", db)


def connect(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to the index at ``path`` for searching, with plain sqlite3
    (sqlite-utils is not needed to read), opened as ``archive.index.open_index_readonly``
    does; or None when its search tables predate this code and it must be migrated first."""
    path = Path(path)
    writable = os.access(path.parent, os.W_OK)
    mode = "mode=ro" if writable or Path(f"{path}-shm").exists() else "immutable=1"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
    try:
        current = conn.execute("select 1 from _sqlite_migrations where migration_set = ? "
                               "and name = ?", ["portal-archive", SEARCH_MIGRATION]).fetchone()
    except sqlite3.OperationalError:  # no migrations table: not an archive's index yet
        current = None
    if current is None:
        conn.close()
    return conn if current else None
