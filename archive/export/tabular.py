"""JSON Lines and CSV: one record per line or row, written as they come."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from archive.export.records import FIELDS, cells


class JsonlWriter:
    name = "articles.jsonl"
    layout = "articles.jsonl: one JSON object per line, UTF-8"
    requires = None
    finishing = None

    def __init__(self, output: Path, *, data_dir: Path | None = None) -> None:
        self.fh = open(output / self.name, "w", encoding="utf-8", newline="\n")  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        row = {name: record[name] for name in FIELDS}
        self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> list[str]:
        self.fh.close()
        return [self.name]


# Stands for an empty string while csv writes a row: archive text holds no control character.
EMPTY = "\x00"


class CsvWriter:
    """RFC 4180 CSV. A null is an empty cell and an empty string a quoted one (``""``), as
    PostgreSQL's and DuckDB's CSV readers tell them apart. ``bom`` starts the file with a
    UTF-8 byte-order mark, without which Excel reads UTF-8 as the system's code page."""

    name = "articles.csv"
    layout = ("articles.csv: RFC 4180, UTF-8, header row; captions and attachments as JSON; "
              'null as an empty cell, an empty string as a quoted one ("")')
    requires = None
    finishing = None

    def __init__(self, output: Path, *, data_dir: Path | None = None, bom: bool = False) -> None:
        # RFC 4180: CRLF line ends, quotes doubled; newlines inside text stay inside quotes.
        self.fh = open(output / self.name, "w", encoding="utf-8-sig" if bom else "utf-8",  # noqa: SIM115
                       newline="")
        self.row = io.StringIO()
        self.writer = csv.writer(self.row, lineterminator="\r\n")
        self._write(FIELDS)

    def write(self, record: dict[str, Any]) -> None:
        self._write(EMPTY if value == "" else value for value in cells(record))

    def _write(self, values: Iterable[Any]) -> None:
        self.writer.writerow(values)  # None: an empty cell
        self.fh.write(self.row.getvalue().replace(EMPTY, '""'))
        self.row.seek(0)
        self.row.truncate()

    def close(self) -> list[str]:
        self.fh.close()
        return [self.name]
