"""Parquet with typed columns, written in row groups so memory holds one batch at a time."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.export.records import FIELDS

if TYPE_CHECKING:
    import pyarrow as pa

ROW_GROUP = 2000  # records buffered per row group


VIETNAM = timezone(timedelta(hours=7), "+07:00")  # no daylight saving since 1975


def schema(pa: Any) -> pa.Schema:
    """The columns: the FIELDS, typed as ``records.TYPES`` says (lists, integers, timestamps:
    UTC, and the publication date in Vietnam's time), text otherwise."""
    timestamp = pa.timestamp("us", tz="UTC")
    types = {
        "published": pa.timestamp("us", tz="+07:00"),
        "captions": pa.list_(pa.string()),
        "attachments": pa.list_(pa.struct([("title", pa.string()), ("url", pa.string())])),
        "word_count": pa.int32(),
        "version": pa.int32(),
        "warc_offset": pa.int64(),
        "warc_length": pa.int64(),
        "first_seen": timestamp,
        "last_seen": timestamp,
        "captured": timestamp,
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in FIELDS])


def _timestamp(value: str | None) -> datetime | None:
    """An ISO 8601 date or date and time; one without an offset is Vietnam's time (a date
    alone is its first minute: published_precision says it is a day)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


class ParquetWriter:
    name = "articles.parquet"
    layout = ("articles.parquet: typed columns (lists for captions and attachments, "
              "timestamps with time zone for published (+07:00) and first_seen, last_seen, "
              "captured (UTC)), written in row groups")
    requires = "pyarrow"
    finishing = None

    def __init__(self, output: Path, *, data_dir: Path | None = None) -> None:
        # pyarrow is an optional extra (portal-archive[export]): loaded when a Parquet
        # export starts, so that the other formats work without it.
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = schema(pa)
        self.table = functools.partial(pa.table, schema=columns)
        self.writer = pq.ParquetWriter(output / self.name, columns, compression="zstd")
        self.columns: dict[str, list[Any]] = {name: [] for name in FIELDS}
        self.buffered = 0

    def write(self, record: dict[str, Any]) -> None:
        for name in FIELDS:
            value = record[name]
            if name in ("published", "first_seen", "last_seen", "captured"):
                value = _timestamp(value)
            elif name == "attachments":
                value = [{"title": a.get("title"), "url": a.get("url")} for a in value]
            self.columns[name].append(value)
        self.buffered += 1
        if self.buffered >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.buffered:
            self.writer.write_table(self.table(self.columns))
            for values in self.columns.values():
                values.clear()
            self.buffered = 0

    def close(self) -> list[str]:
        self._flush()
        self.writer.close()
        return [self.name]
