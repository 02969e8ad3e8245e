"""Exports of the fixture archive, read back with each format's consumer library."""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import importlib.util
import io
import json
import os
import pty
import re
import sys
import unicodedata
import zipfile
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.export import FIELDS, ExportError, export
from archive.filters import Filters
from archive.index import open_index, store_article
from tests.conftest import read_terminal, run_cli


def articles_in_index(data: Path) -> dict[str, dict]:
    with open_index(data / "index.db") as db:
        return {row["id"]: row for row in db.query("select * from articles")}


def run_export(data: Path, out: Path, fmt: str, **kwargs) -> list[dict]:
    with open_index(data / "index.db") as db:
        export(db, data_dir=data, fmt=fmt, output=out, **kwargs)
    return json.loads((out / "datasheet.json").read_text(encoding="utf-8"))


def strip_marks(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFD", text.casefold()).replace("đ", "d")
    return re.findall(r"\w+", "".join(c for c in decomposed if not unicodedata.combining(c)))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def jsonl_records(crawled_archive, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("export") / "jsonl"
    run_export(crawled_archive, out, "jsonl")
    return read_jsonl(out / "articles.jsonl")


def test_jsonl_has_every_article_with_all_fields(crawled_archive, jsonl_records):
    stored = articles_in_index(crawled_archive)
    assert sorted(r["id"] for r in jsonl_records) == sorted(stored)
    for record in jsonl_records:
        assert list(record) == list(FIELDS)
        row = stored[record["id"]]
        assert record["url"] == row["url"]
        assert record["text"] == row["text"]
        assert record["word_count"] == len(record["text"].split())
        assert isinstance(record["captions"], list) and isinstance(record["attachments"], list)
    by_portal = {r["portal"]: r for r in jsonl_records}
    aluoi = by_portal["aluoi-tth"]
    assert (aluoi["portal_name"], aluoi["province"], aluoi["district"]) == (
        "Cổng thông tin điện tử huyện A Lưới", "Thừa Thiên Huế", "A Lưới")
    assert aluoi["province_2025"] == "Huế"
    assert by_portal["vinhbao-hp"]["province_2025"] == "Hải Phòng"
    assert by_portal["baonghean"]["district"] is None


def test_provenance_points_at_the_response_the_text_came_from(crawled_archive, jsonl_records):
    for record in jsonl_records:
        path = crawled_archive / "warc" / record["warc_file"]
        with open(path, "rb") as fh:
            fh.seek(record["warc_offset"])
            raw = fh.read(record["warc_length"])
        warc = next(iter(ArchiveIterator(io.BytesIO(raw))))
        assert warc.rec_type == "response"
        assert warc.rec_headers.get_header("WARC-Payload-Digest") == record["payload_digest"]
        fetched = warc.rec_headers.get_header("WARC-Target-URI")
        assert fetched.split("?")[0] == record["url"].split("?")[0]
        assert b"<html" in warc.content_stream().read().lower()


def test_csv_reads_back_the_same_records(crawled_archive, jsonl_records, tmp_path):
    run_export(crawled_archive, tmp_path / "csv", "csv")
    raw = (tmp_path / "csv" / "articles.csv").read_bytes()
    assert raw.split(b"\r\n", 1)[0].decode() == ",".join(FIELDS)
    with open(tmp_path / "csv" / "articles.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_id = {r["id"]: r for r in jsonl_records}
    assert len(rows) == len(jsonl_records)
    for row in rows:
        record = by_id[row["id"]]
        assert row["text"] == record["text"]  # newlines survive inside quoted cells
        assert json.loads(row["captions"]) == record["captions"]
        assert int(row["warc_offset"]) == record["warc_offset"]


def test_parquet_is_typed_and_readable_by_pyarrow_and_duckdb(crawled_archive, jsonl_records,
                                                             tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")  # the export extra

    sheet = run_export(crawled_archive, tmp_path / "pq", "parquet")
    path = tmp_path / "pq" / "articles.parquet"
    table = pq.read_table(path)
    assert table.schema.names == list(FIELDS)
    assert str(table.schema.field("word_count").type) == "int32"
    assert str(table.schema.field("first_seen").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("captions").type) == "list<element: string>"
    assert table.num_rows == len(jsonl_records)
    counts = dict(duckdb.sql(f"select portal, count(*) from '{path}' group by portal").fetchall())
    assert counts == sheet["records_per_portal"]
    texts = dict(duckdb.sql(f"select id, text from '{path}'").fetchall())
    assert texts == {r["id"]: r["text"] for r in jsonl_records}


def test_parquet_published_is_a_zoned_timestamp_with_its_precision(crawled_archive,
                                                                    jsonl_records, tmp_path):
    # As an analyst reads it: DuckDB sees a timestamp with time zone, and a day's date alone
    # is told apart from a time by published_precision.
    run_export(crawled_archive, tmp_path / "pq", "parquet")
    path = tmp_path / "pq" / "articles.parquet"
    kinds = dict(duckdb.sql(f"describe select published, published_precision from '{path}'")
                 .fetchall()[i][:2] for i in range(2))
    assert kinds == {"published": "TIMESTAMP WITH TIME ZONE", "published_precision": "VARCHAR"}
    duckdb.sql("set TimeZone = 'UTC'")
    rows = {i: (p, k) for i, p, k in duckdb.sql(
        f"select id, published, published_precision from '{path}'").fetchall()}
    precisions = set()
    for record in jsonl_records:
        published, precision = rows[record["id"]]
        text = record["published"]
        if text is None:
            assert published is None and precision is None
            continue
        precisions.add(precision)
        expected = datetime.fromisoformat(text if "T" in text else text + "T00:00:00+07:00")
        assert published == expected  # the same instant
        assert precision == ("day" if len(text) == 10 else "minute")
        assert record["published_precision"] == precision
    assert precisions == {"day", "minute"}  # the fixture portals print both


def test_csv_tells_null_from_empty_and_opens_in_excel_with_bom(tmp_path):
    # As DuckDB reads CSV with quoted empty strings kept (PostgreSQL's convention), and with
    # the byte-order mark Excel needs to read UTF-8.
    data = tmp_path / "data"
    base = {"portal": "p", "title": "Tin", "published": "2024-01-01", "text": "Nội dung",
            "digest": "d", "warc_file": "a.warc.gz", "warc_offset": 0, "warc_length": 1}
    with open_index(data / "index.db") as db:
        store_article(db, {**base, "url": "http://p.test/1", "author": ""},
                      captured="2024-01-02T00:00:00Z")
        store_article(db, {**base, "url": "http://p.test/2", "digest": "e", "author": None},
                      captured="2024-01-02T00:00:00Z")
    run_export(data, tmp_path / "csv", "csv", options={"bom": True})
    path = tmp_path / "csv" / "articles.csv"
    assert path.read_bytes().startswith(codecs.BOM_UTF8 + b"id,url,")
    authors = dict(duckdb.sql(f"select url, author from read_csv('{path}', "
                              "allow_quoted_nulls = false, all_varchar = true)").fetchall())
    assert authors == {"http://p.test/1": "", "http://p.test/2": None}
    result = run_cli("export", "--format", "jsonl", "--bom", "--output", str(tmp_path / "j"),
                     data=data, check=False)
    assert result.returncode == 2 and "--bom applies to --format csv only" in result.stderr


def test_datasheet_gives_every_field_a_type(crawled_archive, tmp_path):
    sheet = run_export(crawled_archive, tmp_path / "ds", "csv")
    assert list(sheet["types"]) == list(sheet["fields"]) == list(FIELDS)
    markdown = (tmp_path / "ds" / "DATASHEET.md").read_text(encoding="utf-8")
    assert "- `published` (date, or date and time with offset: ISO 8601 text [timestamp" \
        in markdown
    assert "null as an empty cell" in sheet["layout"]


def test_txt_writes_one_file_per_article_by_portal_and_year(crawled_archive, jsonl_records,
                                                            tmp_path):
    out = tmp_path / "txt"
    run_export(crawled_archive, out, "txt")
    with open(out / "index.csv", encoding="utf-8", newline="") as fh:
        index = list(csv.DictReader(fh))
    assert len(index) == len(jsonl_records)
    for row in index:
        portal, year, name = row["path"].split("/")
        assert (portal, name) == (row["portal"], row["id"] + ".txt")
        assert year == (row["published"][:4] or "undated")
        body = (out / row["path"]).read_text(encoding="utf-8")
        assert row["text"] in body and f"title: {row['title']}" in body
    assert len(list(out.rglob("*.txt"))) == len(jsonl_records)


def test_wacz_holds_the_records_behind_every_article(crawled_archive, jsonl_records, tmp_path):
    out = tmp_path / "wacz"
    run_export(crawled_archive, out, "wacz")
    with zipfile.ZipFile(out / "articles.wacz") as z:
        names = z.namelist()
        datapackage = json.loads(z.read("datapackage.json"))
        resources = {r["path"]: r for r in datapackage["resources"]}
        assert set(resources) == set(names) - {"datapackage.json", "datapackage-digest.json"}
        for path, resource in resources.items():
            assert resource["hash"] == "sha256:" + hashlib.sha256(z.read(path)).hexdigest()
        assert {"pages/pages.jsonl", "indexes/index.cdx.gz"} <= set(names)
        warcs = [n for n in names if n.startswith("archive/")]
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
                   for n in warcs for r in ArchiveIterator(z.open(n))]
        pages = z.read("pages/pages.jsonl").decode("utf-8").splitlines()[1:]
        cdx = gzip.decompress(z.read("indexes/index.cdx.gz")).decode("utf-8").splitlines()
        # Each CDXJ line points at a response inside the package, as a replay tool reads it.
        digests = set()
        for line in cdx:
            entry = json.loads(line.split(" ", 2)[2])
            warc = z.read("archive/" + entry["filename"])
            start, length = int(entry["offset"]), int(entry["length"])
            rec = next(iter(ArchiveIterator(io.BytesIO(warc[start:start + length]))))
            assert rec.rec_headers.get_header("WARC-Target-URI") == entry["url"]
            digests.add(rec.rec_headers.get_header("WARC-Payload-Digest"))
    for kind in ("response", "request", "conversion"):
        assert sum(t == kind for t, _ in records) == len(jsonl_records)
    assert len(pages) == len(jsonl_records)
    assert digests >= {r["payload_digest"] for r in jsonl_records}
    assert {json.loads(p)["title"] for p in pages} == {r["title"] for r in jsonl_records}


def test_datasheet_describes_the_export(crawled_archive, tmp_path):
    sheet = run_export(crawled_archive, tmp_path / "x", "jsonl",
                       filters=Filters(portals=("aluoi-tth", "vinhbao-hp"), since="2020"))
    records = read_jsonl(tmp_path / "x" / "articles.jsonl")
    assert sheet["records"] == len(records) == sum(sheet["records_per_portal"].values())
    assert set(sheet["records_per_portal"]) == {"aluoi-tth", "vinhbao-hp"}
    assert all(year >= "2020" for year in sheet["records_per_year"])
    assert sheet["filters"] == {"portals": ["aluoi-tth", "vinhbao-hp"], "since": "2020"}
    assert list(sheet["fields"]) == list(FIELDS)
    assert "Records: " in (tmp_path / "x" / "DATASHEET.md").read_text(encoding="utf-8")


def test_province_filter_accepts_old_and_new_names(crawled_archive, tmp_path):
    old = run_export(crawled_archive, tmp_path / "old", "jsonl",
                     filters=Filters(province="Thừa Thiên Huế"))
    new = run_export(crawled_archive, tmp_path / "new", "jsonl", filters=Filters(province="Huế"))
    in_hue = sum(a["portal"] == "aluoi-tth" for a in articles_in_index(crawled_archive).values())
    assert old["records_per_portal"] == new["records_per_portal"] == {"aluoi-tth": in_hue}


def test_date_and_query_filters(crawled_archive, jsonl_records, tmp_path):
    run_export(crawled_archive, tmp_path / "d", "jsonl",
               filters=Filters(since="2021-01", until="2022"))
    dated = read_jsonl(tmp_path / "d" / "articles.jsonl")
    expected = [r for r in jsonl_records
                if r["published"] and "2021" <= r["published"][:4] <= "2022"]
    assert sorted(r["id"] for r in dated) == sorted(r["id"] for r in expected)
    run_export(crawled_archive, tmp_path / "q", "jsonl", query="nông thôn mới")
    hits = read_jsonl(tmp_path / "q" / "articles.jsonl")
    assert hits and len(hits) < len(jsonl_records)
    # Every word of the query is in each hit, diacritics aside (as the FTS index folds them).
    for hit in hits:
        words = set(strip_marks(hit["title"] + " " + (hit["summary"] or "") + " " + hit["text"]))
        assert {"nong", "thon", "moi"} <= words


def test_existing_output_is_not_overwritten(crawled_archive, tmp_path):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not empty"):
        run_export(crawled_archive, other, "jsonl")
    with pytest.raises(ExportError, match="not an export"):
        run_export(crawled_archive, other, "jsonl", force=True)
    assert (other / "notes.txt").read_text() == "keep me"
    run_export(crawled_archive, tmp_path / "e", "jsonl")
    with pytest.raises(ExportError, match="--force"):
        run_export(crawled_archive, tmp_path / "e", "csv")
    run_export(crawled_archive, tmp_path / "e", "csv", force=True)
    assert sorted(p.name for p in (tmp_path / "e").iterdir()) == [
        "DATASHEET.md", "articles.csv", "datasheet.json"]


def test_parquet_without_pyarrow_says_how_to_install(crawled_archive, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyarrow" else real(name, *a))
    with pytest.raises(ExportError, match="pip install 'pyarrow'") as refused:
        run_export(crawled_archive, tmp_path / "p", "parquet")
    # A hint that works in a clone: the project is on no package index.
    assert "pip install -e '.[export]'" in str(refused.value)
    assert not (tmp_path / "p").exists()


def test_export_command_prints_a_summary(crawled_archive, tmp_path):
    out = tmp_path / "cli"
    proc = run_cli("export", "--format", "jsonl", "--output", str(out), "--portal", "baonghean",
                   "--json", data=crawled_archive)
    summary = json.loads(proc.stdout)
    in_portal = [a for a in articles_in_index(crawled_archive).values()
                 if a["portal"] == "baonghean"]
    assert summary["records"] == len(in_portal) == len(read_jsonl(out / "articles.jsonl"))
    assert proc.stderr.startswith(f"Exported {len(in_portal)} articles")
    assert proc.stderr.count("\n") == 1  # no progress bar when stderr is not a terminal
    bad = run_cli("export", "--format", "jsonl", "--output", str(out), data=crawled_archive,
                  check=False)
    assert bad.returncode != 0 and "--force" in bad.stderr and "Traceback" not in bad.stderr


def test_an_output_nothing_can_be_written_to_is_one_line(crawled_archive):
    result = run_cli("export", "--format", "jsonl", "--output", "/proc/portal-archive-x",
                     data=crawled_archive, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: /proc/portal-archive-x: ")
    assert result.stderr.count("\n") == 1


def test_export_shows_progress_on_a_terminal(crawled_archive, tmp_path):
    pid, fd = pty.fork()
    if pid == 0:  # the child: the export, with a terminal as stdout and stderr
        os.environ["PORTAL_ARCHIVE_DATA"] = str(crawled_archive)
        os.execv(sys.executable, [sys.executable, "-m", "portal_archive.cli", "export",
                                  "--format", "jsonl", "--output", str(tmp_path / "tty")])
    output = read_terminal(fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    total = len(articles_in_index(crawled_archive))
    assert b"Exporting" in output and f"Exported {total} articles".encode() in output
