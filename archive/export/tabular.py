"""JSON Lines and CSV: one record per line or row, written as they come."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from archive.export.records import FIELDS, cells


class JsonlWriter:
    name = "articles.jsonl"
    layout = "articles.jsonl: one JSON object per line, UTF-8"
    requires = None

    def __init__(self, output: Path, *, data_dir: Path | None = None) -> None:
        self.fh = open(output / self.name, "w", encoding="utf-8", newline="\n")  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        row = {name: record[name] for name in FIELDS}
        self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> list[str]:
        self.fh.close()
        return [self.name]


class CsvWriter:
    name = "articles.csv"
    layout = "articles.csv: RFC 4180, UTF-8, header row; captions and attachments as JSON"
    requires = None

    def __init__(self, output: Path, *, data_dir: Path | None = None) -> None:
        # RFC 4180: CRLF line ends, quotes doubled; newlines inside text stay inside quotes.
        self.fh = open(output / self.name, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.fh, lineterminator="\r\n")
        self.writer.writerow(FIELDS)

    def write(self, record: dict[str, Any]) -> None:
        self.writer.writerow(cells(record))

    def close(self) -> list[str]:
        self.fh.close()
        return [self.name]
