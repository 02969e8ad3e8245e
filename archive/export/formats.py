"""One writer per export format. A writer is opened on the output directory, takes records
one at a time (``write``) and returns the files it made, relative to the output (``close``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Protocol

from archive.export import FORMATS, ExportError

# Format -> (module providing it, pip requirement to install it), for formats that need an
# optional library.
OPTIONAL = {
    "parquet": ("pyarrow", "pyarrow"),
    "wacz": ("wacz", "wacz"),
}
LAYOUTS = {
    "jsonl": "articles.jsonl: one JSON object per line, UTF-8",
    "csv": "articles.csv: RFC 4180, UTF-8, header row; captions and attachments as JSON",
    "parquet": "articles.parquet: typed columns (lists for captions and attachments, UTC "
               "timestamps for first_seen/last_seen), written in row groups",
    "txt": "<portal>/<year>/<id>.txt: one UTF-8 file per article (a header of fields, a blank "
           "line, the text); index.csv lists every file with its fields",
    "wacz": "articles.wacz: the WARC records behind the articles (response, request and "
            "conversion) with a CDX index and a pages list, for ReplayWeb.page; "
            "articles.jsonl beside it holds the records",
}


class Writer(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...
    def close(self) -> list[str]: ...


def require(fmt: str) -> None:
    """Raise ExportError telling how to install what ``fmt`` needs, when it is missing."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt in OPTIONAL:
        module, requirement = OPTIONAL[fmt]
        if importlib.util.find_spec(module) is None:
            raise ExportError(
                f"--format {fmt} needs the {module} package: pip install '{requirement}' "
                f"(or pip install 'portal-archive[export]')")


def describe_format(fmt: str) -> str:
    return LAYOUTS[fmt]


def open_writer(fmt: str, output: Path, *, data_dir: Path) -> Writer:
    require(fmt)
    if fmt == "jsonl":
        from archive.export.tabular import JsonlWriter
        return JsonlWriter(output)
    if fmt == "csv":
        from archive.export.tabular import CsvWriter
        return CsvWriter(output)
    if fmt == "parquet":
        from archive.export.parquet import ParquetWriter
        return ParquetWriter(output)
    if fmt == "txt":
        from archive.export.txt import TxtWriter
        return TxtWriter(output)
    from archive.export.wacz import WaczWriter
    return WaczWriter(output, warc_dir=data_dir / "warc")
