"""WARC as the source of truth: exact records, revisits, rotation, reindex, verify, repair."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.lock import RunLock
from archive.warc import ARTICLE_URN, RotatingWarcWriter, payload_digest
from archive.warcfiles import read_member
from tests.conftest import FIXTURES, gold_records, run_cli

URL = "http://p.test/tin/1.html"
DATE = "2025-03-05T01:02:03.000004Z"
BODY = gzip.compress("<p>Xin chào</p>".encode(), mtime=0)

GOLDEN_RESPONSE = (
    b"WARC/1.1\r\nWARC-Date: 2025-03-05T01:02:03.000004Z\r\nWARC-Type: response\r\n"
    b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
    b"WARC-Target-URI: http://p.test/tin/1.html\r\n"
    b"WARC-Payload-Digest: sha1:47VOM36QFS7WN6YNDZX2SXU5MALSW6HH\r\n"
    b"WARC-Block-Digest: sha1:NKF4332UIOBRXQWQDQPZSCIPWLSH7OBX\r\n"
    b"Content-Type: application/http; msgtype=response\r\nContent-Length: 119\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
    b"Content-Encoding: gzip\r\n\r\n" + BODY + b"\r\n\r\n")
GOLDEN_REQUEST = (
    b"WARC/1.1\r\nWARC-Date: 2025-03-05T01:02:03.000004Z\r\nWARC-Type: request\r\n"
    b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000002>\r\n"
    b"WARC-Target-URI: http://p.test/tin/1.html\r\n"
    b"WARC-Payload-Digest: sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ\r\n"
    b"WARC-Concurrent-To: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
    b"WARC-Block-Digest: sha1:3EGZP2ZHO3L5Y7D6MIJPQJTCNG77P3FO\r\n"
    b"Content-Type: application/http; msgtype=request\r\nContent-Length: 74\r\n\r\n"
    b"GET /tin/1.html HTTP/1.1\r\nHost: p.test\r\nUser-Agent: portal-archive/0.1\r\n\r\n"
    b"\r\n\r\n")
GOLDEN_REVISIT = (
    b"WARC/1.1\r\nWARC-Date: 2025-04-05T01:02:03.000004Z\r\n"
    b"WARC-Refers-To: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
    b"WARC-Type: revisit\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000003>\r\n"
    b"WARC-Target-URI: http://p.test/tin/1.html\r\n"
    b"WARC-Profile: " + RecordBuilder.REVISIT_PROFILE_1_1.encode() + b"\r\n"
    b"WARC-Refers-To-Target-URI: http://p.test/tin/1.html\r\n"
    b"WARC-Refers-To-Date: 2025-03-05T01:02:03.000004Z\r\n"
    b"WARC-Payload-Digest: sha1:47VOM36QFS7WN6YNDZX2SXU5MALSW6HH\r\n"
    b"WARC-Block-Digest: sha1:EXZH7AUGEMZNZ6FZO5XSZLTDNKKQLAEP\r\n"
    b"Content-Type: application/http; msgtype=response\r\nContent-Length: 83\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
    b"Content-Encoding: gzip\r\n\r\n\r\n\r\n")


class FixedIds(RecordBuilder):
    """Record ids 1, 2, 3... as warcio's own tests fix them."""

    def __init__(self) -> None:
        super().__init__(warc_version="1.1")
        self.ids = itertools.count(1)

    def _make_warc_id(self, id_=None) -> str:  # noqa: ANN001
        return f"<urn:uuid:00000000-0000-0000-0000-{next(self.ids):012d}>"


def heads() -> tuple[StatusAndHeaders, StatusAndHeaders]:
    req = StatusAndHeaders("GET /tin/1.html HTTP/1.1",
                           [("Host", "p.test"), ("User-Agent", "portal-archive/0.1")],
                           is_http_request=True)
    resp = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                       ("Content-Encoding", "gzip")], protocol="HTTP/1.1")
    return req, resp


def test_records_are_byte_exact_and_each_is_its_own_gzip_member(tmp_path):
    writer = RotatingWarcWriter(tmp_path, prefix="t", max_size=1 << 30, warcinfo={})
    writer.builder = FixedIds()
    req, resp = heads()
    response, request = writer.request_response(URL, request_head=req, request_body=b"",
                                                 response_head=resp, response_body=BODY,
                                                 date=DATE)
    revisit, _ = writer.revisit(
        URL, digest=response.payload_digest, request_head=req, response_head=resp,
        refers_to={"record_id": response.record_id, "url": URL, "time": DATE},
        date="2025-04-05T01:02:03.000004Z")
    writer.close()
    for pointer, golden in ((response, GOLDEN_RESPONSE), (request, GOLDEN_REQUEST),
                            (revisit, GOLDEN_REVISIT)):
        assert read_member(tmp_path / pointer.warc_file, pointer.offset,
                           pointer.length) == golden
    assert payload_digest(BODY) == response.payload_digest
    # The body stays as the server sent it: gzipped, with its Content-Encoding.
    with open(tmp_path / response.warc_file, "rb") as fh:
        records = list(ArchiveIterator(fh))
    assert [r.rec_type for r in records] == ["warcinfo", "response", "request", "revisit",
                                             "request"]


def test_files_rotate_past_the_size_limit_and_are_closed(tmp_path):
    writer = RotatingWarcWriter(tmp_path, prefix="t", max_size=2000, warcinfo={"x": "y"})
    req, resp = heads()
    for i in range(20):
        writer.request_response(f"{URL}?{i}", request_head=req, request_body=b"",
                                response_head=resp, response_body=os.urandom(500))
    writer.close()
    files = sorted(tmp_path.iterdir())
    assert len(files) > 3 and all(p.name.endswith(".warc.gz") for p in files)
    for path in files:
        with open(path, "rb") as fh:
            assert next(iter(ArchiveIterator(fh))).rec_type == "warcinfo"


@pytest.fixture
def archive_copy(crawled_archive, tmp_path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(crawled_archive, data)
    return data


def rows(db_path: Path, table: str, order: str, skip=("id",)) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    columns = [r[1] for r in conn.execute(f"pragma table_info({table})") if r[1] not in skip]
    result = conn.execute(f"select {', '.join(columns)} from {table} order by {order}").fetchall()
    conn.close()
    return result


def test_reindex_rebuilds_the_same_index_from_warc_alone(archive_copy, tmp_path):
    before = tmp_path / "before.db"
    shutil.copy(archive_copy / "index.db", before)
    (archive_copy / "index.db").unlink()  # WARC alone
    result = run_cli("reindex", "--json", data=archive_copy)
    assert json.loads(result.stdout)["articles"] >= len(gold_records())  # conversions replayed
    after = archive_copy / "index.db"
    assert rows(after, "articles", "id", skip=()) == rows(before, "articles", "id", skip=())
    assert rows(after, "article_versions", "article_id") == rows(before, "article_versions",
                                                                  "article_id")
    assert rows(after, "captures", "record_id") == rows(before, "captures", "record_id")
    assert rows(after, "portals", "id", skip=()) == rows(before, "portals", "id", skip=())
    attachments = rows(before, "attachments", "article_id, url", skip=())
    assert attachments and rows(after, "attachments", "article_id, url", skip=()) == attachments
    # ... and search works on the rebuilt index.
    found = json.loads(run_cli("search", "nông thôn mới", "--json", data=archive_copy).stdout)
    assert found


def test_archives_written_before_the_article_urn_reindex_the_same(archive_copy, tmp_path):
    # Conversion records were filed under the page's own URL until they had a URN of their
    # own (archive.warc.ARTICLE_URN): rewrite them so, and reindex.
    before = tmp_path / "before.db"
    shutil.copy(archive_copy / "index.db", before)
    rewritten = 0
    for path in sorted((archive_copy / "warc").glob("*.warc.gz")):
        old = tmp_path / path.name
        with open(path, "rb") as src, open(old, "wb") as out:
            writer = WARCWriter(out, gzip=True, warc_version="1.1")
            for record in ArchiveIterator(src):
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                if record.rec_type == "conversion":
                    assert uri.startswith(ARTICLE_URN)
                    record.rec_headers.replace_header("WARC-Target-URI",
                                                      uri.removeprefix(ARTICLE_URN))
                    rewritten += 1
                writer.write_record(record)
        os.replace(old, path)
    assert rewritten >= 40
    (archive_copy / "index.db").unlink()
    run_cli("reindex", data=archive_copy)
    assert rows(archive_copy / "index.db", "articles", "id") == rows(before, "articles", "id")


def test_second_unchanged_crawl_writes_revisits_not_copies(archive_copy):
    warc = archive_copy / "warc"
    first = sum(p.stat().st_size for p in warc.iterdir())
    run_cli("crawl", "--fixtures", str(FIXTURES), "-s", "LOG_LEVEL=WARNING", data=archive_copy)
    second = sum(p.stat().st_size for p in warc.iterdir()) - first
    conn = sqlite3.connect(archive_copy / "index.db")
    revisits = conn.execute("select count(*) from captures where record_type = 'revisit'")
    assert revisits.fetchone()[0] >= len(gold_records())  # every article, unchanged
    assert conn.execute("select max(version) from articles").fetchone()[0] == 1
    conn.close()
    assert second < first / 2
    assert "OK" in run_cli("verify", data=archive_copy).stdout


def test_verify_finds_a_damaged_record(archive_copy):
    path = next((archive_copy / "warc").glob("*.warc.gz"))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    result = run_cli("verify", data=archive_copy, check=False)
    assert result.returncode == 1 and "PROBLEM" in result.stdout


def committed_articles(db: Path) -> int:
    """Articles the crawl has committed so far (0 while the index is still being created)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(db)
    try:
        return conn.execute("select count(*) from articles").fetchone()[0]
    except sqlite3.OperationalError:  # the crawl has not created its tables yet
        return 0
    finally:
        conn.close()


def test_killed_crawl_is_repaired_with_nothing_committed_lost(tmp_path):
    data = tmp_path / "data"
    env = dict(os.environ, PORTAL_ARCHIVE_DATA=str(data))
    proc = subprocess.Popen(
        [sys.executable, "-m", "portal_archive.cli", "crawl", "--fixtures", str(FIXTURES),
         "--portal", "aluoi-tth", "-s", "DOWNLOAD_DELAY=0.2", "-s", "LOG_LEVEL=WARNING"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and committed_articles(data / "index.db") < 3:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    committed = committed_articles(data / "index.db")
    assert committed >= 3, "the crawl should have been killed mid-way"
    open_files = list((data / "warc").glob("*.warc.gz.open"))
    assert open_files, "the kill should leave the WARC file open"
    # A kill during a write leaves half a gzip member at the end: simulate the worst case.
    member = gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + os.urandom(4000))
    with open(open_files[0], "ab") as fh:
        fh.write(member[: len(member) // 2])
    assert run_cli("verify", data=data, check=False).returncode == 1
    repaired = run_cli("verify", "--repair", data=data)
    assert "removed a torn record" in repaired.stdout
    after = run_cli("verify", "--json", data=data)
    report = json.loads(after.stdout)
    assert report["ok"] and report["pointers"] > 0  # every committed pointer resolves
    assert not list((data / "warc").glob("*.open"))
    # ... and the repaired WARC alone still holds every article the index had committed.
    rebuilt = json.loads(run_cli("reindex", "--json", data=data).stdout)
    assert rebuilt["articles"] >= committed


def test_show_prints_the_article_its_json_and_the_page_as_served(crawled_archive):
    conn = sqlite3.connect(crawled_archive / "index.db")
    url, title, aid = conn.execute("select url, title, id from articles limit 1").fetchone()
    conn.close()
    assert title in run_cli("show", url, data=crawled_archive).stdout
    assert json.loads(run_cli("show", aid, "--json", data=crawled_archive).stdout)["url"] == url
    raw = run_cli("show", url, "--raw", data=crawled_archive).stdout
    assert "<html" in raw.lower() and title.split()[0] in raw
    missing = run_cli("show", "http://nowhere.test/x", data=crawled_archive, check=False)
    assert missing.returncode == 1 and "No stored article" in missing.stderr


def test_show_cleans_a_pasted_url_as_the_crawler_does(crawled_archive):
    conn = sqlite3.connect(crawled_archive / "index.db")
    url, title = conn.execute("select url, title from articles where url like '%?%' "
                              "limit 1").fetchone()
    conn.close()
    scheme, rest = url.split("://", 1)
    host, path = rest.split("/", 1)
    pasted = f"{scheme}://{host.upper()}/{path}&utm_source=zalo&fbclid=x1#top"
    assert title in run_cli("show", pasted, data=crawled_archive).stdout
    assert "<html" in run_cli("show", pasted, "--raw", data=crawled_archive).stdout.lower()


def test_reindex_and_repair_wait_for_no_running_crawl(archive_copy):
    with RunLock(archive_copy):  # as a running crawl holds it
        for args in (["reindex"], ["verify", "--repair"]):
            result = run_cli(*args, data=archive_copy, check=False)
            assert result.returncode == 1 and "another crawl holds" in result.stderr
            assert "Traceback" not in result.stderr
    assert run_cli("verify", data=archive_copy).returncode == 0
