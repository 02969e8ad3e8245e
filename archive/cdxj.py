"""A CDXJ index of the archive's WARC files, the index pywb and other replay tools read."""

from __future__ import annotations

import os
from pathlib import Path

from cdxj_indexer import CDXJIndexer

from archive.warcfiles import warc_files


def write_cdxj(data_dir: Path, target: Path | None = None) -> tuple[Path, int]:
    """Write ``target`` (default ``data_dir/index.cdxj``; sorted, file names relative to
    ``warc/``) over every closed WARC file; return its path and line count."""
    warc_dir = data_dir / "warc"
    target = target or data_dir / "index.cdxj"
    partial = target.with_name(target.name + ".partial")
    files = [str(p) for p in warc_files(warc_dir)]
    # Captures only: conversion and metadata records are ours, not pages to replay.
    CDXJIndexer(output=str(partial), inputs=files, sort=True, dir_root=str(warc_dir),
                records="response,revisit,resource").process_all()
    os.replace(partial, target)
    with open(target, "rb") as fh:
        lines = sum(1 for _ in fh)
    return target, lines
