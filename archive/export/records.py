"""What an export record is: its fields and their definitions, how an index row becomes one,
how a record becomes cells of a table, and the error an export reports.

Every format writes the same fields (``FIELDS``) with the same values; this module imports
nothing else of the export package, which every writer and the datasheet import.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from archive import units

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
                     "provinces into 34 (Resolution 202/2025/QH15)",
    "title": "headline as shown on the page",
    "published": "publication date, ISO 8601: YYYY-MM-DD when the page gives only a date, "
                 "with time and +07:00 when it gives a time (in Parquet a timestamp with time "
                 "zone, a date alone at 00:00 +07:00: see published_precision)",
    "published_precision": "how precise published is: day (the page gave a date only) or "
                           "minute (a date and time); null when published is null",
    "date_source": "where the date was read: meta, json-ld, text, url, sitemap or listing",
    "author": "credit line as printed (null when none)",
    "category": "the portal's category name (null when the page does not say)",
    "summary": "lead (sapo) shown apart from the body, or null",
    "text": "article body, paragraphs joined by newlines (the lead counted once)",
    "captions": "photo captions, in page order",
    "attachments": "documents linked from the article: list of {title, url}",
    "word_count": "words in text (whitespace-separated)",
    "language": "language code of the text",
    "extractor": "which engine chose the text: cleaners (ours), trafilatura (where ours was "
                 "unsure or found nothing), or both (the two agreed)",
    "first_seen": "UTC time the article was first captured",
    "last_seen": "UTC time the article was last captured",
    "version": "1 + number of times the text changed between captures",
    "source": "where the capture the text came from was made: live (our crawl), ia (the "
              "Internet Archive), cc (Common Crawl) or the name of another web archive",
    "captured": "UTC time that capture was made (by the web archive, for a recovered one)",
    "cluster": "near-duplicate cluster: the id of the earliest published article of the same "
               "news (this record's own id when it has no republication)",
    "warc_file": "WARC file (under the archive's warc/ directory) holding the capture the "
                 "text came from",
    "warc_offset": "byte offset of that capture's response record in warc_file",
    "warc_length": "byte length of that (gzipped) record: `warcio extract FILE OFFSET`",
    "payload_digest": "WARC-Payload-Digest of that response (SHA-1, base32)",
}


# Field name -> its type, in every format: JSON Lines writes it as that JSON type (null for
# none), CSV as text (see CsvWriter for nulls), Parquet as the column type in brackets.
TIMESTAMP = "UTC date and time: ISO 8601 text [timestamp, microseconds, UTC]"
TEXT = "text [string]"
TYPES: dict[str, str] = {
    **dict.fromkeys(FIELDS, TEXT),
    "published": "date, or date and time with offset: ISO 8601 text [timestamp, microseconds, "
                 "time zone +07:00]",
    "captions": "list of text [list<string>]; JSON text in CSV",
    "attachments": "list of {title, url} [list<struct<title: string, url: string>>]; JSON "
                   "text in CSV",
    "word_count": "integer [int32]",
    "version": "integer [int32]",
    "warc_offset": "integer [int64]",
    "warc_length": "integer [int64]",
    "first_seen": TIMESTAMP,
    "last_seen": TIMESTAMP,
    "captured": TIMESTAMP,
}


def precision(published: str | None) -> str | None:
    """``day`` for ``2014-06-25``, ``minute`` for ``2017-12-24T11:14:00+07:00``."""
    if not published:
        return None
    return "day" if len(published) <= 10 else "minute"


class ExportError(Exception):
    """A user mistake or missing component, with the fix in its message."""


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
        elif name == "published_precision":
            value = precision(row.get("published"))
        elif isinstance(value, str):
            value = unicodedata.normalize("NFC", value)
        out[name] = value
    out["record_id"] = row.get("record_id")
    return out


# A cell a spreadsheet would take for a formula (=HYPERLINK(...), +, -, @, and a tab or a
# carriage return before them): OWASP's advice for CSV, a leading apostrophe, which Excel,
# LibreOffice and Google Sheets show as text and do not display.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: str) -> str:
    """``value`` as a cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cells(record: dict[str, Any]) -> list[Any]:
    """A record as cells of a table (CSV): lists as JSON, text made inert for spreadsheets
    (``inert``), None kept (the writer says how)."""
    cells = []
    for name in FIELDS:
        value = record[name]
        if isinstance(value, list):
            value = json.dumps(value, ensure_ascii=False)
        cells.append(inert(value) if isinstance(value, str) else value)
    return cells
