"""Reindex speed: seconds per 1,000 WARC records to rebuild the index from WARC alone.

    python bench/reindex_bench.py [--articles 5000]

Writes a synthetic archive through the crawl's own writer (RotatingWarcWriter): for each
article a request, a response holding one of the bundled fixture pages (made unique) and a
conversion record holding the article as the crawl stores it; then times ``reindex``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warcio.statusandheaders import StatusAndHeaders  # noqa: E402

from archive.reindex import rebuild  # noqa: E402
from archive.warc import RotatingWarcWriter  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "portal_archive" / "demo" / "fixtures"
PORTAL = {"id": "bench", "name": "Bench portal", "base_url": "http://bench.test/",
          "province": "Huế", "district": "A Lưới", "family": None}
WORDS = ("xã nông thôn mới hội đồng nhân dân huyện tỉnh cán bộ đảng viên kinh tế "
         "văn hóa giáo dục y tế giao thông thủy lợi").split()


def write_archive(data: Path, articles: int) -> int:
    pages = [p.read_bytes() for p in sorted(FIXTURES.glob("sites/*/files/**/*.htm*"))]
    writer = RotatingWarcWriter(data / "warc", prefix="portal-archive-bench",
                                max_size=100 * 1024**2,
                                warcinfo={"portal": json.dumps(PORTAL), "run-id": "1"})
    req = StatusAndHeaders("GET / HTTP/1.1", [("Host", "bench.test")], is_http_request=True)
    records = 0
    for i in range(articles):
        url = f"http://bench.test/tin-tuc/{i}.html"
        body = pages[i % len(pages)] + f"<!-- {i} -->".encode()
        head = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                protocol="HTTP/1.1")
        response, _ = writer.request_response(url, request_head=req, request_body=b"",
                                              response_head=head, response_body=body)
        text = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(300)) + f" {i}"
        row = {"url": url, "portal": "bench", "title": f"Tin số {i}", "published":
               "2024-05-01", "date_source": "meta", "author": None, "category": "Tin tức",
               "summary": text[:200], "text": text, "captions": "[]", "attachments": "[]",
               "word_count": len(text.split()), "language": "vi",
               "digest": hashlib.sha1(text.encode()).hexdigest(),
               "warc_file": response.warc_file, "warc_offset": response.offset,
               "warc_length": response.length, "payload_digest": response.payload_digest}
        writer.metadata(url, {**row, "fetched_url": url, "body": []},
                        refers_to=response.record_id)
        records += 3
    writer.close()
    return records + len(writer.closed_files)  # and one warcinfo per file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        records = write_archive(data, args.articles)
        size = sum(p.stat().st_size for p in (data / "warc").iterdir())
        start = time.perf_counter()
        counts = rebuild(data)
        seconds = time.perf_counter() - start
    print(f"{records:,} records ({counts['articles']:,} articles) in {counts['files']} WARC "
          f"files, {size / 1e6:.1f} MB")
    print(f"reindex: {seconds:.2f} s, {seconds / records * 1000:.3f} s per 1,000 records, "
          f"{records / seconds:,.0f} records/s")


if __name__ == "__main__":
    main()
