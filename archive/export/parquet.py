"""Parquet with typed columns, written in row groups so memory holds one batch at a time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from archive.export import FIELDS

ROW_GROUP = 2000  # records buffered per row group

TIMESTAMP = pa.timestamp("us", tz="UTC")
TYPES: dict[str, pa.DataType] = {
    "captions": pa.list_(pa.string()),
    "attachments": pa.list_(pa.struct([("title", pa.string()), ("url", pa.string())])),
    "word_count": pa.int32(),
    "version": pa.int32(),
    "warc_offset": pa.int64(),
    "warc_length": pa.int64(),
    "first_seen": TIMESTAMP,
    "last_seen": TIMESTAMP,
}
SCHEMA = pa.schema([(name, TYPES.get(name, pa.string())) for name in FIELDS])


def _timestamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ParquetWriter:
    name = "articles.parquet"

    def __init__(self, output: Path) -> None:
        self.writer = pq.ParquetWriter(output / self.name, SCHEMA, compression="zstd")
        self.columns: dict[str, list[Any]] = {name: [] for name in FIELDS}
        self.buffered = 0

    def write(self, record: dict[str, Any]) -> None:
        for name in FIELDS:
            value = record[name]
            if name in ("first_seen", "last_seen"):
                value = _timestamp(value)
            elif name == "attachments":
                value = [{"title": a.get("title"), "url": a.get("url")} for a in value]
            self.columns[name].append(value)
        self.buffered += 1
        if self.buffered >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.buffered:
            self.writer.write_table(pa.table(self.columns, schema=SCHEMA))
            for values in self.columns.values():
                values.clear()
            self.buffered = 0

    def close(self) -> list[str]:
        self._flush()
        self.writer.close()
        return [self.name]
