"""The export formats: one writer class per format, registered in ``WRITERS``.

A writer is made with the output directory (and the archive's data directory, which only WACZ
reads), takes records one at a time (``write``) and returns the files it made, relative to the
output (``close``). Its class says what its files hold (``layout``, for the datasheet), which
optional package it needs, if any (``requires``), and, when closing takes a while, what it
does then (``finishing``, a stage of the progress bar). To add a format: a module here with
its writer, and one line in ``WRITERS``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, ClassVar, Protocol

from archive.export.parquet import ParquetWriter
from archive.export.records import ExportError
from archive.export.tabular import CsvWriter, JsonlWriter
from archive.export.txt import TxtWriter
from archive.export.wacz import WaczWriter


class Writer(Protocol):
    layout: ClassVar[str]
    requires: ClassVar[str | None]
    finishing: ClassVar[str | None]  # what ``close`` does, when it takes a while

    def __init__(self, output: Path, *, data_dir: Path) -> None: ...
    def write(self, record: dict[str, Any]) -> None: ...
    def close(self) -> list[str]: ...


WRITERS: dict[str, type[Writer]] = {
    "jsonl": JsonlWriter,
    "csv": CsvWriter,
    "parquet": ParquetWriter,
    "txt": TxtWriter,
    "wacz": WaczWriter,
}
FORMATS = tuple(WRITERS)


def writer_for(fmt: str) -> type[Writer]:
    """The writer of ``fmt``; ExportError telling how to install what it needs when that is
    missing, so that nothing is written."""
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    writer = WRITERS[fmt]
    if writer.requires and importlib.util.find_spec(writer.requires) is None:
        raise ExportError(
            f"--format {fmt} needs the {writer.requires} package: pip install "
            f"'{writer.requires}', or every export format at once with pip install -e "
            "'.[export]' in the portal-archive clone")
    return writer
