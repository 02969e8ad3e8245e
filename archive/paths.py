"""Deleting files and folders only where they are meant to be.

Every deletion of the archive (a resumed crawl's old queue, a reindex's leftovers, a replaced
export) goes through ``remove_tree`` or ``remove_file`` with the folder the path is meant to
be in: a path that does not resolve strictly inside it (``..``, ``.``, an absolute name, a
symbolic link pointing elsewhere, the folder itself) is refused, never removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path


class UnsafePath(ValueError):
    """A path to delete that lies outside the folder it is meant for."""


def inside(folder: Path | str, path: Path | str) -> Path:
    """``path``, resolved, when it lies strictly inside ``folder`` (resolved as well)."""
    base = Path(folder).resolve()
    target = Path(path)
    # The parent is resolved, not the name itself: a link is removed as a link, never
    # followed out of the folder.
    resolved = target.parent.resolve() / target.name
    if target.name in ("", ".", "..") or not resolved.is_relative_to(base) or resolved == base:
        raise UnsafePath(f"refusing to delete {path}: it is not inside {folder}")
    return resolved


def remove_tree(folder: Path | str, path: Path | str) -> None:
    """Remove the folder ``path`` and all it holds (nothing if it is missing)."""
    target = inside(folder, path)
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)


def remove_file(folder: Path | str, path: Path | str) -> None:
    """Remove the file ``path`` (nothing if it is missing)."""
    inside(folder, path).unlink(missing_ok=True)
