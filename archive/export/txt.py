"""Plain text: one UTF-8 file per article under <portal>/<year>/, and index.csv listing them."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from archive.export.records import FIELDS, ExportError, cells

UNSAFE = re.compile(r"[^\w.-]+")
# Header lines of each text file: the short fields a reader wants before the text.
HEADER_FIELDS = ("title", "url", "portal_name", "province", "district", "province_2025",
                 "published", "author", "category", "cluster", "warc_file", "warc_offset")


def safe_component(value: str | None, default: str) -> str:
    """A value as one path component: no separators, no dot-dot, never empty."""
    name = UNSAFE.sub("_", value or "").strip("._")
    return name or default


class TxtWriter:
    index_name = "index.csv"
    layout = ("<portal>/<year>/<id>.txt: one UTF-8 file per article (a header of fields, a "
              "blank line, the text); index.csv lists every file with its fields")
    requires = None
    finishing = None

    def __init__(self, output: Path, *, data_dir: Path | None = None) -> None:
        self.output = output.resolve()
        self.fh = open(self.output / self.index_name, "w", encoding="utf-8",  # noqa: SIM115
                       newline="")
        self.index = csv.writer(self.fh, lineterminator="\r\n")
        self.index.writerow(["path", *FIELDS])

    def path_for(self, record: dict[str, Any]) -> Path:
        year = (record["published"] or "")[:4]
        relative = Path(safe_component(record["portal"], "portal"),
                        year if year.isdigit() else "undated",
                        safe_component(record["id"], "article") + ".txt")
        path = (self.output / relative).resolve()
        if not path.is_relative_to(self.output):  # cannot happen with safe components
            raise ExportError(f"refusing to write {path} outside {self.output}")
        return path

    def write(self, record: dict[str, Any]) -> None:
        path = self.path_for(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{name}: {record[name]}" for name in HEADER_FIELDS
                 if record[name] not in (None, "")]
        if record["summary"]:
            lines += ["", record["summary"]]
        lines += ["", record["text"] or ""]
        if record["captions"]:
            lines += ["", *(f"[{caption}]" for caption in record["captions"])]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        relative = path.relative_to(self.output).as_posix()
        self.index.writerow([relative, *cells(record)])

    def close(self) -> list[str]:
        self.fh.close()
        return [self.index_name]
