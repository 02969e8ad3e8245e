"""WARC write speed and size by gzip level, on the bundled fixture pages.

    python bench/warc_bench.py [--rounds 20]

Writes every fixture page as a response record (with its request) through our
RotatingWarcWriter at each level, and prints MB/s of payload, ms per 100 KB page and the
compressed size relative to level 9 (warcio's fixed level).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warcio.statusandheaders import StatusAndHeaders  # noqa: E402

from archive.warc import RotatingWarcWriter  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "portal_archive" / "demo" / "fixtures"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    pages = [p.read_bytes() for p in sorted(FIXTURES.glob("sites/*/files/**/*.htm*"))]
    payload = sum(len(p) for p in pages) * args.rounds
    print(f"{len(pages)} pages x {args.rounds} rounds = {payload / 1e6:.1f} MB of payload\n")
    print(f"{'gzip level':>10}{'MB/s':>9}{'ms/100 KB':>11}{'size vs 9':>11}")
    sizes = {}
    results = []
    for level in (1, 3, 6, 9):
        with tempfile.TemporaryDirectory() as tmp:
            writer = RotatingWarcWriter(tmp, prefix="bench", max_size=1 << 40, warcinfo={},
                                        gzip_level=level)
            req = StatusAndHeaders("GET / HTTP/1.1", [("Host", "x.test")], is_http_request=True)
            start = time.perf_counter()
            for _ in range(args.rounds):
                for i, body in enumerate(pages):
                    head = StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                            protocol="HTTP/1.1")
                    writer.request_response(f"http://x.test/{i}", request_head=req,
                                            request_body=b"", response_head=head,
                                            response_body=body)
            writer.close()
            seconds = time.perf_counter() - start
            sizes[level] = sum(p.stat().st_size for p in Path(tmp).iterdir())
        results.append((level, payload / seconds / 1e6, seconds * 1000 / (payload / 100_000)))
    for level, mbs, ms in results:
        print(f"{level:>10}{mbs:>9.1f}{ms:>11.2f}{sizes[level] / sizes[9]:>11.3f}")


if __name__ == "__main__":
    main()
