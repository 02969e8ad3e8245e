"""Errors writing the archive (disk full, read-only file system, I/O error), said in one line
that names the problem and the path.

A crawl that meets one stops at once (crawler/extensions/session.py) with reason
``disk_full`` or ``write_error``, and ``portal-archive crawl`` exits with status 5. What it had
written stays readable: a WARC record that could not be written whole is cut off its file
(archive/warc.py), and SQLite rolls back the transaction that failed.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

# What writing a file or the index raises when the machine cannot take it.
WRITE_ERRORS = (OSError, sqlite3.OperationalError)
DISK_FULL = "disk_full"
WRITE_ERROR = "write_error"
REASONS = (DISK_FULL, WRITE_ERROR)
FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# An OSError that is the machine refusing a write, whatever the file.
WRITE_ERRNOS = FULL_ERRNOS | {errno.EROFS, errno.EIO, errno.EFBIG}
SQLITE_FULL = ("database or disk is full",)


def describe(error: Exception, path: Path | str) -> tuple[str, str]:
    """``(reason, line)`` for ``error`` met writing ``path`` (an OSError's own file name wins)."""
    where = getattr(error, "filename", None) or path
    if isinstance(error, OSError):
        detail = error.strerror or str(error)
        full = error.errno in FULL_ERRNOS
    else:
        detail = str(error)
        full = any(text in detail for text in SQLITE_FULL)
    if full:
        return DISK_FULL, f"disk full: cannot write {where} ({detail})"
    return WRITE_ERROR, f"cannot write {where}: {detail}"
