"""A CDXJ index of the archive's WARC files, the index pywb and other replay tools read.

Each file is indexed by cdxj-indexer as it reads it. A file with a damaged region, where
cdxj-indexer (warcio) stops with a line on stderr, is indexed record by record instead:
every readable record is indexed at its own offset, and the damaged region is reported
(``on_damage``).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cdxj_indexer import CDXJIndexer
from cdxj_indexer.main import SortingWriter

from archive.warcfiles import Damage, readable_records, warc_files

# Captures only: conversion and metadata records are ours, not pages to replay.
REPLAYED = "response,revisit,resource"


class _Indexer(CDXJIndexer):
    """cdxj-indexer, indexing a record read alone as if it sat at ``base_offset``."""

    base_offset = 0

    def get_field(self, record: Any, name: str, it: Any, filename: str) -> Any:
        value = super().get_field(record, name, it, filename)
        if name == "offset" and value is not None:
            value = str(int(value) + self.base_offset)
        return value


def write_cdxj(data_dir: Path, target: Path | None = None, *,
               on_damage: Callable[[Damage], None] | None = None) -> tuple[Path, int]:
    """Write ``target`` (default ``data_dir/index.cdxj``; sorted, file names relative to
    ``warc/``) over every closed WARC file; return its path and line count."""
    warc_dir = data_dir / "warc"
    target = target or data_dir / "index.cdxj"
    partial = target.with_name(target.name + ".partial")
    indexer = _Indexer(output=None, inputs=[], sort=True, dir_root=str(warc_dir),
                       records=REPLAYED)
    lines = 0
    with open(partial, "w", encoding="utf-8") as out:
        sorting = SortingWriter(out)
        for path in warc_files(warc_dir):
            for line in _index_file(indexer, path, on_damage or _raise):
                sorting.write(line)
                lines += 1
        sorting.flush()
    os.replace(partial, target)
    return target, lines


def _index_file(indexer: _Indexer, path: Path,
                on_damage: Callable[[Damage], None]) -> list[str]:
    buffer, complaints = io.StringIO(), io.StringIO()
    indexer.base_offset = 0
    try:
        # warcio stops at a damaged gzip member with a line on stderr, not an exception.
        with open(path, "rb") as fh, contextlib.redirect_stderr(complaints):
            indexer.process_one(fh, buffer, str(path))
        if not complaints.getvalue():
            return buffer.getvalue().splitlines(keepends=True)
    except Exception:  # noqa: BLE001, S110 - any failure to read through: record by record
        pass
    found: list[str] = []
    with open(path, "rb") as fh:
        for member, _ in readable_records(path, on_damage):
            fh.seek(member.offset)
            buffer = io.StringIO()
            indexer.base_offset = member.offset
            indexer.process_one(io.BytesIO(fh.read(member.length)), buffer, str(path))
            found += buffer.getvalue().splitlines(keepends=True)
    return found


def _raise(damage: Damage) -> None:
    raise ValueError(str(damage))
