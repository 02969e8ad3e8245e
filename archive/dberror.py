"""Telling a damaged index from the other SQLite errors (a lock, a read-only file): only the
first is mended by rebuilding the index from the WARC files. Kept apart so that the command
line can tell without loading the index module."""

from __future__ import annotations

import sqlite3

REINDEX_HINT = "rebuild it from the WARC files with 'portal-archive reindex'"


def is_damage(error: sqlite3.Error) -> bool:
    """Whether an SQLite error says the file itself is damaged (not locked, not read-only)."""
    if isinstance(error, sqlite3.OperationalError):
        return any(w in str(error) for w in ("malformed", "corrupt", "not a database"))
    return isinstance(error, sqlite3.DatabaseError)
