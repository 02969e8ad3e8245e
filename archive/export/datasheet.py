"""The datasheet of an export (``datasheet.json`` and ``DATASHEET.md``): what was selected,
how many records, from where and when, what each field means, how the text was cleaned, and
what the corpus cannot tell."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive import __version__, clusters
from archive.export.records import FIELDS, TYPES


@dataclass
class Summary:
    """What an export wrote, counted as it went."""

    format: str
    layout: str  # the files of the format, as the datasheet describes them
    output: str
    records: int = 0
    per_portal: Counter[str] = field(default_factory=Counter)
    per_year: Counter[str] = field(default_factory=Counter)
    near_duplicates: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # WARC regions skipped (WACZ)

    def count(self, record: dict[str, Any]) -> None:
        self.records += 1
        self.per_portal[record["portal"]] += 1
        self.per_year[(record["published"] or "undated")[:4]] += 1


def write_datasheet(output: Path, summary: Summary, filters: dict[str, Any], *,
                    dedup: bool) -> None:
    dups = {"dropped_by_dedup": 0, **summary.near_duplicates}
    sheet = {
        "title": "portal-archive export",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "software": f"portal-archive {__version__}",
        "format": summary.format,
        "files": summary.files,
        "layout": summary.layout,
        "filters": filters,
        "dedup": dedup,
        "records": summary.records,
        "near_duplicates": {**dups, "note": (
            "records sharing a cluster are the same news republished (MinHash LSH on word "
            f"3-grams, estimated Jaccard >= {clusters.THRESHOLD}); with dedup only the "
            "earliest published record of each cluster is kept")},
        "records_per_portal": dict(sorted(summary.per_portal.items())),
        "records_per_year": dict(sorted(summary.per_year.items())),
        "damaged_warc_regions": summary.damaged,
        "fields": FIELDS,
        # How each format writes each field: the JSON type, CSV text, [the Parquet type].
        "types": TYPES,
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
    "CSV: a text cell that begins with =, +, -, @, a tab or a carriage return begins with an "
    "apostrophe (') added by the export, so that no spreadsheet runs it as a formula; remove "
    "that one apostrophe to get the text as archived (JSON Lines and Parquet are unchanged).",
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
        "Each field, its type (JSON Lines writes the JSON type, CSV text, Parquet the "
        "column type in brackets) and what it holds:",
        "",
        *[f"- `{k}` ({sheet['types'][k]}): {v}" for k, v in sheet["fields"].items()],
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
