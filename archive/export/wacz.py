"""WACZ: the WARC records behind the exported articles, packaged for ReplayWeb.page.

For every article the package holds the response its text came from, the request paired with
it (WARC-Concurrent-To) and the conversion record holding the clean text (WARC-Refers-To the
response). The records are copied byte for byte (each is its own gzip member) into one WARC
file, then py-wacz indexes it (CDX), lists the pages and writes datapackage.json with hashes.
The records themselves also go to articles.jsonl beside the package.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

from archive.export.records import ExportError
from archive.export.tabular import JsonlWriter
from archive.paths import remove_tree
from archive.warcfiles import Damage, readable_records, warc_files

WORK_DIR = ".wacz-build"  # inside the output, removed once the package is written


class WaczWriter:
    name = "articles.wacz"
    layout = ("articles.wacz: the WARC records behind the articles (response, request and "
              "conversion) with a CDX index and a pages list, for ReplayWeb.page; "
              "articles.jsonl beside it holds the records")
    requires = "wacz"
    finishing = "Packing the WACZ: copying the records, indexing, hashing"

    def __init__(self, output: Path, *, data_dir: Path) -> None:
        self.output = output
        self.warc_dir = data_dir / "warc"
        self.records = JsonlWriter(output)
        # warc file -> response offset -> page title; conversion record ids wanted
        self.responses: dict[str, dict[int, str]] = defaultdict(dict)
        self.conversions: set[str] = set()
        self.damages: list[Damage] = []  # damaged regions of the WARC files, skipped

    def write(self, record: dict[str, Any]) -> None:
        self.records.write(record)
        self.responses[record["warc_file"]][record["warc_offset"]] = record["title"] or ""
        if record.get("record_id"):
            self.conversions.add(record["record_id"])

    def close(self) -> list[str]:
        files = self.records.close()
        work = self.output / WORK_DIR
        work.mkdir()
        warc_path, pages_path = work / "articles.warc.gz", work / "pages.jsonl"
        with open(warc_path, "wb") as warc, open(pages_path, "w", encoding="utf-8") as pages:
            pages.write(json.dumps({"format": "json-pages-1.0", "id": "pages",
                                    "title": "Exported articles"}) + "\n")
            self._copy_records(warc, pages)
        _create_wacz(self.output / self.name, warc_path, pages_path)
        remove_tree(self.output, work)
        return [self.name, *files]

    def _copy_records(self, warc: io.BufferedWriter, pages: io.TextIOBase) -> None:
        missing = set(self.conversions)
        scanned = set()
        for name in sorted(self.responses):
            missing -= self._copy_from(name, warc, pages, missing)
            scanned.add(name)
        # A conversion record lands in the next file when the WARC rotated in between.
        for path in warc_files(self.warc_dir):
            if not missing:
                break
            if path.name not in scanned:
                missing -= self._copy_from(path.name, warc, pages, missing)

    def _copy_from(self, name: str, warc: io.BufferedWriter, pages: io.TextIOBase,
                   conversions: set[str]) -> set[str]:
        """Copy the wanted records of one WARC file; return the conversion ids found there.
        A damaged region is skipped (and kept in ``damages``); the records around it are read."""
        path = self.warc_dir / name
        if not path.exists():
            raise ExportError(f"WARC file {path} is missing: the index points at it")
        wanted = self.responses.get(name, {})
        response_ids: set[str] = set()
        spans: list[tuple[int, int]] = []
        found: set[str] = set()
        for member, rec in readable_records(path, self.damages.append):
            headers = rec.rec_headers
            record_id = headers.get_header("WARC-Record-ID")
            keep = False
            if rec.rec_type == "response" and member.offset in wanted:
                keep = True
                response_ids.add(record_id)
                pages.write(json.dumps({"url": headers.get_header("WARC-Target-URI"),
                                        "title": wanted[member.offset]},
                                       ensure_ascii=False) + "\n")
            elif rec.rec_type == "request":
                keep = headers.get_header("WARC-Concurrent-To") in response_ids
            elif rec.rec_type == "conversion" and record_id in conversions:
                keep = True
                found.add(record_id)
            if keep:
                spans.append((member.offset, member.length))
        with open(path, "rb") as fh:
            for offset, length in spans:
                fh.seek(offset)
                warc.write(fh.read(length))
        return found


def _create_wacz(target: Path, warc: Path, pages: Path) -> None:
    # py-wacz is an optional extra (portal-archive[export]): loaded when a WACZ export starts.
    from wacz.main import create_wacz

    # create_wacz is what `wacz create` runs, given its options here by name rather than as a
    # command line. It reports its progress on stdout, which may be the user's data stream.
    # Its indexer leaves the spool files of buffered records to the garbage collector:
    # collect them here, where their ResourceWarning is known and harmless.
    options = argparse.Namespace(
        inputs=[str(warc)], output=str(target), pages=str(pages), copy_pages=False,
        extra_pages=None, detect_pages=False, text=False, hash_type=None, log_directory=None,
        split_seeds=False, file=False, ts=None, url=None, date=None,
        title="portal-archive export", desc="Articles exported from a portal-archive archive: "
        "each article's response, request and clean-text conversion records",
        signing_url=None, signing_token=None)
    with contextlib.redirect_stdout(io.StringIO()) as log, warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        status = create_wacz(options)
        gc.collect()
    if status != 0:
        raise ExportError(f"py-wacz could not build {target}: {log.getvalue()[-500:]}")
