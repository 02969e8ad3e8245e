"""Opening an archive's index for a command, migrated to this code's schema first.

Kept apart from ``portal_archive/common.py`` because it loads sqlite-utils and the index
module (more than a tenth of a second at start-up): a search, which only reads, does without
them unless the index is older than the code.
"""

from __future__ import annotations

from pathlib import Path

import click
import sqlite_utils

from archive.index import OutdatedIndex, open_index, open_index_readonly
from portal_archive.common import index_path, may_write, sqlite_errors


def open_existing_index(data_dir: Path, *, write: bool = False) -> sqlite_utils.Database:
    """The archive's index, which must exist: read-only unless ``write`` (a command that only
    reads works on a read-only copy, a snapshot, or as a user without write access). An index
    older than the code is brought up to date first when the user may write it."""
    path = index_path(data_dir)
    with sqlite_errors(data_dir):  # a damaged index: one line, and how to rebuild it
        if write:
            return open_index(path)
        try:
            return open_index_readonly(path)
        except OutdatedIndex as e:
            if not may_write(path):
                raise click.ClickException(str(e)) from None
        open_index(path).close()  # the migrations, once
        return open_index_readonly(path)
