"""Export clean corpora for analysts: the archive's articles as JSON Lines, CSV, Parquet, plain
text or WACZ, each record with its provenance, and a datasheet describing the export.

Records stream from one SQLite cursor to one writer (``archive/export/``), so memory stays
flat however large the archive. Every format uses the same field names (``FIELDS``).
"""

from __future__ import annotations

import json
import shutil
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from archive import __version__, clusters, units
from archive.filters import Filters
from archive.query import QueryError, parse_query
from archive.search import MATCHES

FORMATS = ("jsonl", "csv", "parquet", "txt", "wacz")
BATCH = 500  # rows fetched from the cursor at a time

# Field name -> definition, in record order. The datasheet prints these definitions.
FIELDS: dict[str, str] = {
    "id": "stable article id: the first 16 hex digits of SHA-1 of the canonical URL",
    "url": "canonical URL of the article (tracking parameters removed; the simplest of the "
           "URLs the same text was met under)",
    "portal": "id of the portal the article was archived from",
    "portal_name": "the portal's name",
    "province": "province of the portal as the page knew it (before the 2025 reform)",
    "district": "district of the portal as the page knew it (null for provincial portals)",
    "province_2025": "the province that province belongs to since the 2025 merger of 63 "
                     "provinces into 34 (package vietnamadminunits)",
    "title": "headline as shown on the page",
    "published": "publication date, ISO 8601: YYYY-MM-DD when the page gives only a date, "
                 "with time and +07:00 when it gives a time",
    "date_source": "where the date was read: meta, json-ld, text, url, sitemap or listing",
    "author": "credit line as printed (null when none)",
    "category": "the portal's category name (null when the page does not say)",
    "summary": "lead (sapo) shown apart from the body, or null",
    "text": "article body, paragraphs joined by newlines (the lead counted once)",
    "captions": "photo captions, in page order",
    "attachments": "documents linked from the article: list of {title, url}",
    "word_count": "words in text (whitespace-separated)",
    "language": "language code of the text",
    "first_seen": "UTC time the article was first captured",
    "last_seen": "UTC time the article was last captured",
    "version": "1 + number of times the text changed between captures",
    "cluster": "near-duplicate cluster: the id of the earliest published article of the same "
               "news (this record's own id when it has no republication)",
    "warc_file": "WARC file (under the archive's warc/ directory) holding the capture the "
                 "text came from",
    "warc_offset": "byte offset of that capture's response record in warc_file",
    "warc_length": "byte length of that (gzipped) record: `warcio extract FILE OFFSET`",
    "payload_digest": "WARC-Payload-Digest of that response (SHA-1, base32)",
}


class ExportError(Exception):
    """A user mistake or missing component, with the fix in its message."""


@dataclass
class Summary:
    format: str
    output: str
    records: int = 0
    per_portal: Counter[str] = field(default_factory=Counter)
    per_year: Counter[str] = field(default_factory=Counter)
    near_duplicates: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def count(self, record: dict[str, Any]) -> None:
        self.records += 1
        self.per_portal[record["portal"]] += 1
        self.per_year[(record["published"] or "undated")[:4]] += 1


def selection(db: sqlite_utils.Database, query: str | None, filters: Filters, *,
              dedup: bool) -> tuple[str, list[Any]]:
    """The SQL ``from ... where`` selecting the exported articles, and its parameters:
    those a search for ``query`` finds (when given), kept by ``filters``."""
    condition, params = filters.sql(db)
    if query:
        try:
            expression = parse_query(query).fts("folded")
        except QueryError as e:
            raise ExportError(f"query {query!r}: {e}") from e
        condition, params = f"{MATCHES} and {condition}", [expression, *params]
    sql = ("from articles a left join portals p on p.id = a.portal "
           "left join article_clusters c on c.article_id = a.id "
           f"where {condition}")
    if dedup:
        # One record per cluster among the selected ones: the earliest published.
        sql = ("from (select a.*, p.name as portal_name, p.province, p.district, "
               "coalesce(c.cluster, a.id) as cluster, row_number() over ("
               "partition by coalesce(c.cluster, a.id) "
               "order by a.published is null, a.published, a.id) as rank_in_cluster "
               f"{sql}) a where a.rank_in_cluster = 1")
    return sql, params


def iter_records(db: sqlite_utils.Database, query: str | None, filters: Filters, *,
                 dedup: bool = False) -> Iterator[dict[str, Any]]:
    """The export records, in portal then publication order, fetched in batches."""
    from_sql, params = selection(db, query, filters, dedup=dedup)
    columns = ("a.*" if dedup else
               "a.*, p.name as portal_name, p.province, p.district, "
               "coalesce(c.cluster, a.id) as cluster")
    cursor = db.execute(
        f"select {columns} {from_sql} order by a.portal, a.published is null, a.published, a.id",
        params)
    names = [d[0] for d in cursor.description]
    while rows := cursor.fetchmany(BATCH):
        for values in rows:
            yield record(dict(zip(names, values, strict=True)))


def cluster_counts(db: sqlite_utils.Database, query: str | None, filters: Filters, *,
                   dedup: bool = False) -> dict[str, int]:
    """Clusters holding more than one exported record, and the duplicates they hold (records
    beyond the first of their cluster), counted by SQLite rather than in memory."""
    from_sql, params = selection(db, query, filters, dedup=dedup)
    cluster = "a.cluster" if dedup else "coalesce(c.cluster, a.id)"
    row = db.execute(
        f"select count(*), coalesce(sum(n - 1), 0) from (select {cluster} as k, count(*) as n "
        f"{from_sql} group by k having n > 1)", params).fetchone()
    return {"clusters_with_duplicates": row[0], "duplicates": row[1]}


def count_records(db: sqlite_utils.Database, query: str | None, filters: Filters, *,
                  dedup: bool = False) -> int:
    from_sql, params = selection(db, query, filters, dedup=dedup)
    return db.execute(f"select count(*) {from_sql}", params).fetchone()[0]


def record(row: dict[str, Any]) -> dict[str, Any]:
    """An index row as an export record: the ``FIELDS`` in order, lists decoded, text NFC.
    ``record_id`` (the WARC conversion record) rides along for the WACZ writer."""
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = row.get(name)
        if name in ("captions", "attachments"):
            value = json.loads(value) if value else []
        elif name == "province_2025":
            value = units.province_2025(row.get("province"))
        elif isinstance(value, str):
            value = unicodedata.normalize("NFC", value)
        out[name] = value
    out["record_id"] = row.get("record_id")
    return out


def prepare_output(output: Path, *, force: bool) -> None:
    """Make ``output`` an empty directory. An existing one is replaced only with ``force``, and
    only when it holds a previous export (its datasheet.json): never a directory of other
    files."""
    if output.exists():
        if not output.is_dir():
            raise ExportError(f"{output} is a file: --output names a directory to create")
        if any(output.iterdir()):
            if not force:
                raise ExportError(f"{output} exists and is not empty: choose a new --output, "
                                  "or add --force to replace a previous export there")
            if not (output / "datasheet.json").exists():
                raise ExportError(f"{output} holds files that are not an export (no "
                                  "datasheet.json): --force only replaces a previous export")
            shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)


def export(
    db: sqlite_utils.Database,
    *,
    data_dir: Path,
    fmt: str,
    output: Path,
    query: str | None = None,
    filters: Filters | None = None,
    dedup: bool = False,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Write the articles a search for ``query`` finds (all when None), kept by ``filters``, to
    ``output`` (a directory) in ``fmt``, then its datasheet. ``progress`` is called with the
    number of records written since its last call."""
    from archive.export.formats import open_writer, require

    require(fmt)  # a missing library is reported before anything is written
    filters = filters or Filters()
    selection(db, query, filters, dedup=dedup)  # a bad query is reported before anything is written
    clusters.update_clusters(db)
    prepare_output(output, force=force)
    summary = Summary(format=fmt, output=str(output))
    writer = open_writer(fmt, output, data_dir=data_dir)
    for rec in iter_records(db, query, filters, dedup=dedup):
        writer.write(rec)
        summary.count(rec)
        if progress:
            progress(1)
    summary.files = writer.close()
    summary.near_duplicates = cluster_counts(db, query, filters, dedup=dedup)
    if dedup:
        summary.near_duplicates["dropped_by_dedup"] = (count_records(db, query, filters)
                                                       - summary.records)
    chosen = {"query": query, **filters.active()} if query else filters.active()
    write_datasheet(output, summary, chosen, dedup=dedup)
    return summary


def write_datasheet(output: Path, summary: Summary, filters: dict[str, Any], *,
                    dedup: bool) -> None:
    from archive.export.formats import describe_format

    dups = {"dropped_by_dedup": 0, **summary.near_duplicates}
    sheet = {
        "title": "portal-archive export",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "software": f"portal-archive {__version__}",
        "format": summary.format,
        "files": summary.files,
        "layout": describe_format(summary.format),
        "filters": filters,
        "dedup": dedup,
        "records": summary.records,
        "near_duplicates": {**dups, "note": (
            "records sharing a cluster are the same news republished (MinHash LSH on word "
            f"3-grams, estimated Jaccard >= {clusters.THRESHOLD}); with dedup only the "
            "earliest published record of each cluster is kept")},
        "records_per_portal": dict(sorted(summary.per_portal.items())),
        "records_per_year": dict(sorted(summary.per_year.items())),
        "fields": FIELDS,
        "cleaning": CLEANING,
        "known_limits": KNOWN_LIMITS,
    }
    (output / "datasheet.json").write_text(
        json.dumps(sheet, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (output / "DATASHEET.md").write_text(datasheet_markdown(sheet), encoding="utf-8")


CLEANING = (
    "Pages were captured to WARC as served. Article text was extracted by portal-archive's "
    "cleaners: the page is decoded the WHATWG way (windows-1258, NFD and legacy TCVN3/VNI "
    "fonts come out as Unicode NFC), the article box is found by text density, and portal "
    "chrome (menus, visit counters, 'Tin khác' lists, tickers, share bars, header clocks) is "
    "dropped by wording, class names and what repeats across a portal's pages. Dates, "
    "authors and categories are read from the page (date_source says "
    "where). All text is Unicode NFC."
)
KNOWN_LIMITS = [
    "Only pages the crawler reached are included; portals shut down before their crawl are "
    "missing.",
    "Extraction is automatic: some chrome may remain and some body text may be lost on "
    "layouts the cleaners had not seen.",
    "province and district are the portal's units, not necessarily the places the news "
    "is about.",
    "province_2025 maps whole provinces; districts were abolished in 2025 and have no "
    "successor field.",
    "Near-duplicate clustering is probabilistic (MinHash LSH): a pair just around the "
    "similarity threshold may fall either way; bodies under "
    f"{clusters.MIN_WORDS} words are never clustered.",
]


def datasheet_markdown(sheet: dict[str, Any]) -> str:
    dups = sheet["near_duplicates"]
    filters = ", ".join(f"{k}={v!r}" for k, v in sheet["filters"].items()) or "none"
    lines = [
        "# Datasheet: portal-archive export",
        "",
        f"- Created: {sheet['created']} by {sheet['software']}",
        f"- Format: {sheet['format']} ({sheet['layout']})",
        f"- Filters: {filters}; dedup: {'yes' if sheet['dedup'] else 'no'}",
        f"- Records: {sheet['records']}; near-duplicate clusters: "
        f"{dups['clusters_with_duplicates']}, holding {dups['duplicates']} duplicates; "
        f"left out by dedup: {dups['dropped_by_dedup']}",
        "",
        "## Records per portal",
        "",
        *[f"- {k}: {v}" for k, v in sheet["records_per_portal"].items()],
        "",
        "## Records per year",
        "",
        *[f"- {k}: {v}" for k, v in sheet["records_per_year"].items()],
        "",
        "## Fields",
        "",
        *[f"- `{k}`: {v}" for k, v in sheet["fields"].items()],
        "",
        "## How the text was cleaned",
        "",
        sheet["cleaning"],
        "",
        "## Known limits",
        "",
        *[f"- {x}" for x in sheet["known_limits"]],
        "",
    ]
    return "\n".join(lines)
