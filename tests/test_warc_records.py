"""The crawl's WARC files, read back as any WARC tool reads them."""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import brotli
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders

from archive.warc import RotatingWarcWriter, article_urn
from archive.warcfiles import decoded_payload, read_record
from tests.conftest import FAST_CRAWL, FIXTURES, gold_records, run_cli

WARCIO = Path(sys.executable).parent / "warcio"


def records(warc_dir: Path) -> list:
    found = []
    for path in sorted(warc_dir.glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                record.body = record.raw_stream.read()  # as stored, not decoded
                found.append((path.name, record))
    return found


def test_warcio_checks_every_digest_of_the_crawl(crawled_archive):
    files = sorted(str(p) for p in (crawled_archive / "warc").glob("*.warc.gz"))
    result = subprocess.run([str(WARCIO), "check", *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:]


def test_responses_are_archived_as_they_came_off_the_wire(crawled_archive):
    by_file: dict[str, list] = {}
    for name, record in records(crawled_archive / "warc"):
        by_file.setdefault(name, []).append(record)
    gzipped = 0
    for file_records in by_file.values():
        assert file_records[0].rec_type == "warcinfo"
        ids = {r.rec_headers.get_header("WARC-Record-ID"): r for r in file_records}
        for record in file_records:
            if record.rec_type == "request":
                # Paired with its response, as the target server saw it (not the proxy).
                response = ids[record.rec_headers.get_header("WARC-Concurrent-To")]
                assert response.rec_type in ("response", "revisit")
                target = record.rec_headers.get_header("WARC-Target-URI")
                method, target_path = record.http_headers.protocol, record.http_headers.statusline
                assert method == "GET" and target_path.startswith("/")  # origin-form
                assert record.http_headers.get_header("Host") == urlsplit(target).netloc
            if record.rec_type != "response":
                continue
            uri = urlsplit(record.rec_headers.get_header("WARC-Target-URI"))
            assert uri.hostname.endswith(".test") and uri.port is None
            http = record.http_headers
            assert http.get_header("Transfer-Encoding") is None
            if http.get_header("Content-Encoding") == "gzip":
                # The body is the server's gzip stream, not Scrapy's decompressed copy.
                assert record.body[:2] == b"\x1f\x8b"
                assert gzip.decompress(record.body)
                gzipped += 1
    assert gzipped >= len(gold_records())  # every article page at least: the server gzips HTML


def test_each_article_has_a_conversion_record_that_refers_to_its_response(crawled_archive):
    kinds: dict[str, str] = {}
    conversions = []
    for _, record in records(crawled_archive / "warc"):
        kinds[record.rec_headers.get_header("WARC-Record-ID")] = record.rec_type
        if record.rec_type == "conversion":
            conversions.append(record)
    converted = {r.rec_headers.get_header("WARC-Target-URI") for r in conversions}
    assert converted >= {article_urn(gold["url"]) for gold in gold_records()}
    for record in conversions:
        assert record.rec_headers.get_header("Content-Type") == "application/json"
        assert kinds[record.rec_headers.get_header("WARC-Refers-To")] == "response"
        # Filed under a URN of its own, never under the page's URL (pywb would replay it).
        article = json.loads(record.body)
        assert record.rec_headers.get_header("WARC-Target-URI") == article_urn(article["url"])


def test_a_brotli_body_is_archived_compressed_and_shown_decoded(tmp_path):
    # Scrapy asks servers for br; the archive keeps the br stream and `show --raw` decodes it.
    # (This also fails if a package shadows the brotli module Scrapy decodes br with.)
    page = "<html><body><p>Ủy ban nhân dân xã</p></body></html>".encode()
    writer = RotatingWarcWriter(tmp_path, prefix="t", max_size=1 << 30, warcinfo={})
    response, _ = writer.request_response(
        "http://p.test/", request_head=StatusAndHeaders("GET / HTTP/1.1", [("Host", "p.test")],
                                                        is_http_request=True),
        request_body=b"", response_head=StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "br")],
            protocol="HTTP/1.1"),
        response_body=brotli.compress(page))
    writer.close()
    record = read_record(tmp_path, response.warc_file, response.offset, response.length)
    assert record.payload != page
    assert decoded_payload(record) == page


def test_a_payload_fetched_twice_in_one_run_is_stored_in_full_once(tmp_path):
    # robots.txt is fetched twice (by Scrapy's robots middleware and for its Sitemap: lines).
    # With the index not flushed in between, the second copy must still be a revisit.
    data = tmp_path / "data"
    run_cli("crawl", "--fixtures", str(FIXTURES), "--portal", "aluoi-tth", *FAST_CRAWL,
            "-s", "ARCHIVE_INDEX_FLUSH_ROWS=100000", "-s", "ARCHIVE_INDEX_FLUSH_SECONDS=3600",
            data=data)
    conn = sqlite3.connect(data / "index.db")
    try:
        rows = conn.execute("select url, record_type, payload_digest from captures").fetchall()
    finally:
        conn.close()
    full = Counter((url, digest) for url, kind, digest in rows if kind == "response")
    assert [key for key, n in full.items() if n > 1] == []
    robots = [kind for url, kind, _ in rows if url.endswith("/robots.txt")]
    assert sorted(robots) == ["response", "revisit"]
