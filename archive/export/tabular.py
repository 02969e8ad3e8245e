"""JSON Lines and CSV: one record per line or row, written as they come."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from archive.export import FIELDS


class JsonlWriter:
    name = "articles.jsonl"

    def __init__(self, output: Path) -> None:
        self.fh = open(output / self.name, "w", encoding="utf-8", newline="\n")  # noqa: SIM115

    def write(self, record: dict[str, Any]) -> None:
        row = {name: record[name] for name in FIELDS}
        self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self) -> list[str]:
        self.fh.close()
        return [self.name]


def csv_row(record: dict[str, Any]) -> list[Any]:
    """A record as CSV cells: lists as JSON, None as an empty cell."""
    cells = []
    for name in FIELDS:
        value = record[name]
        if isinstance(value, list):
            value = json.dumps(value, ensure_ascii=False)
        cells.append("" if value is None else value)
    return cells


class CsvWriter:
    name = "articles.csv"

    def __init__(self, output: Path) -> None:
        # RFC 4180: CRLF line ends, quotes doubled; newlines inside text stay inside quotes.
        self.fh = open(output / self.name, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.fh, lineterminator="\r\n")
        self.writer.writerow(FIELDS)

    def write(self, record: dict[str, Any]) -> None:
        self.writer.writerow(csv_row(record))

    def close(self) -> list[str]:
        self.fh.close()
        return [self.name]
