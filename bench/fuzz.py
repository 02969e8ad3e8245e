"""Fuzz the parts that read what users type and what portals serve: queries and pages.

    python bench/fuzz.py [--queries 10000] [--pages 1400] [--seed 1] [--cli 200]

Queries: random mixes of Vietnamese words with and without diacritics, operators (OR, AND,
NOT, -word, word*, quotes, parentheses), FTS5 syntax, control characters, very long words and
very many terms, run through ``archive.search.search`` on an archive of the fixture portals
(crawled first into a temporary directory), plus ``--cli`` of them through ``portal-archive
search`` and ``export``. A query may be refused (``QueryError``, a one-line error for the CLI);
anything else is a traceback.

Pages: the fixture portals' pages cut, shuffled, flipped byte by byte, swollen with deep
nesting and huge attributes, re-encoded and sprinkled with control characters, each read as
the crawl reads it (``crawler.reading.read_page``: parse, links, template, article).

Prints one JSON object: queries and pages run, refused queries, tracebacks (and the first of
each kind).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive import search  # noqa: E402
from archive.query import QueryError  # noqa: E402
from crawler import reading  # noqa: E402

FIXTURES = ROOT / "portal_archive" / "demo" / "fixtures"
WORDS = ["hội", "hoi", "đồng", "dong", "nhân", "dân", "nông", "thôn", "mới", "UBND", "Huế",
         "xã", "covid-19", "vắc-xin", "năm", "2024", "A Lưới", "Quảng", "ninh", "tỉnh", "đ",
         "Ð", "ĐẢNG", "người", "kinh", "tế", "e\u0301", "ﬁ", "日本", "😀", ""]
SYNTAX = ["OR", "AND", "NOT", "-", "*", '"', "(", ")", "NEAR(", ":", "^", "+", "{", "}",
          "title:", "-h", "--", "--help", "\\", "'", "%", "_", ";", "''", "\x00", "\x1b[2J",
          "\u202e", "\ufeff", "\n", "\t", "　", "\ud7ff"]


def random_query(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.05:
        return rng.choice(["", " ", "*", '"', "-", "OR", "NOT", "()", '""', "-" * 50])
    if kind < 0.1:  # very many terms: an excluded-word flood, an OR chain
        word = rng.choice(["-w{}", "w{} OR", '"w{}"', "w{}*"])
        return " ".join(word.format(n) for n in range(rng.randint(50, 400)))
    if kind < 0.15:  # one very long word, or random code points
        return rng.choice(["x" * rng.randint(1000, 20000),
                           "".join(chr(rng.randint(1, 0x2FFFF)) for _ in range(40))
                           .encode("utf-8", "replace").decode("utf-8", "replace")])
    parts = []
    for _ in range(rng.randint(1, 8)):
        token = rng.choice(WORDS) if rng.random() < 0.7 else rng.choice(SYNTAX)
        if rng.random() < 0.2:
            token = rng.choice(["-", '"', "(", ""]) + token + rng.choice(["*", '"', ")", ""])
        parts.append(token)
    return rng.choice([" ", "", "  "]).join(parts)


def fixture_pages() -> list[tuple[str, bytes, str]]:
    pages = []
    for site in sorted((FIXTURES / "sites").iterdir()):
        manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
        for path, entry in manifest["urls"].items():
            if entry.get("file") and "html" in (entry.get("content_type") or ""):
                url = manifest["base_url"] + path
                charset = entry.get("charset") or "utf-8"
                pages.append((url, (site / entry["file"]).read_bytes(),
                              f"text/html; charset={charset}"))
    return pages


def mutate(rng: random.Random, body: bytes) -> tuple[bytes, str]:
    kind = rng.randrange(9)
    if kind == 0:  # cut anywhere
        return body[:rng.randint(0, len(body))], "cut"
    if kind == 1:  # flip bytes
        data = bytearray(body)
        for _ in range(rng.randint(1, 200)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data), "flipped"
    if kind == 2:  # shuffle lines
        lines = body.split(b"\n")
        rng.shuffle(lines)
        return b"\n".join(lines), "shuffled"
    if kind == 3:  # deep nesting
        depth = rng.randint(100, 5000)
        return b"<div>" * depth + body + b"</div>" * (depth // 2), "nested"
    if kind == 4:  # one element with very many attributes, and a huge one
        attrs = b" ".join(b'a%d="%d"' % (n, n) for n in range(rng.randint(1000, 20000)))
        return body.replace(b"<body", b"<body " + attrs + b' title="' + b"x" * 100000
                            + b'"', 1), "attributes"
    if kind == 5:  # control characters and bidi overrides in the text
        junk = [b"\x00", b"\x1b]52;c;ZXZpbA==\x07", b"\x1b[2J", b"\x7f", b"\xc2\x9b",
                b"\xe2\x80\xae", b"\x0c"]
        data = body
        for _ in range(rng.randint(1, 50)):
            at = rng.randint(0, len(data))
            data = data[:at] + rng.choice(junk) + data[at:]
        return data, "controls"
    if kind == 6:  # another encoding than the one declared
        text = body.decode("utf-8", "replace")
        return text.encode(rng.choice(["utf-16", "cp1258", "latin-1", "utf-32"]),
                           "replace"), "encoding"
    if kind == 7:  # links of every sort
        hrefs = [b"http://[domain]/x", b"javascript:alert(1)", b"file:///etc/passwd",
                 b"//" + b"a" * 300 + b".test/", b"http://a.test/%zz", b"\x00", b"?" * 2000,
                 b"http://a.test:99999/", b"data:text/html,x", b"HTTP://A.TEST/../../.."]
        links = b"".join(b'<a href="' + rng.choice(hrefs) + b'">x</a>' for _ in range(50))
        return body.replace(b"</body>", links + b"</body>"), "links"
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 5000))), "random"


class Failures:
    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.first: dict[str, str] = {}

    def add(self, where: str, error: BaseException) -> None:
        kind = f"{where}: {type(error).__name__}"
        self.kinds[kind] += 1
        self.first.setdefault(kind, "".join(traceback.format_exception(error))[-1500:])


def crawl_fixtures(data: Path) -> None:
    subprocess.run([sys.executable, "-m", "portal_archive.cli", "--data", str(data), "crawl",
                    "--fixtures", str(FIXTURES), "-s", "LOG_LEVEL=WARNING"], cwd=ROOT,
                   check=True, capture_output=True, timeout=900)


def fuzz_queries(data: Path, n: int, cli: int, rng: random.Random,
                 failures: Failures) -> dict[str, int]:
    db = search.connect(data / "index.db")
    refused = ran = 0
    for _ in range(n):
        text = random_query(rng)
        ran += 1
        try:
            search.search(db, text, limit=5, sort=rng.choice(search.SORTS),
                          exact=rng.random() < 0.2)
        except QueryError:
            refused += 1
        except Exception as e:  # noqa: BLE001 - what the fuzzing is looking for
            failures.add("search", e)
    env = {**os.environ, "PORTAL_ARCHIVE_DATA": str(data)}
    for n_cli in range(cli):
        text = random_query(rng).replace("\x00", "")  # no argument can hold a NUL
        args = (["search", "--", text] if n_cli % 2 else
                ["export", "--format", "jsonl", "--output", str(data.parent / f"x{n_cli}"),
                 "--", text])
        proc = subprocess.run([sys.executable, "-m", "portal_archive.cli", *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120)
        ran += 1
        if "Traceback" in proc.stderr:
            failures.add(args[0], RuntimeError(proc.stderr[-1500:]))
        elif proc.returncode:
            refused += 1
    return {"queries": ran, "queries_refused": refused}


def fuzz_pages(n: int, rng: random.Random, failures: Failures) -> dict[str, object]:
    pages = fixture_pages()
    kinds: Counter[str] = Counter()
    reading._use_template("fuzz", None)
    for _ in range(n):
        url, body, content_type = rng.choice(pages)
        body, kind = mutate(rng, body)
        kinds[kind] += 1
        try:
            reading.read_page("fuzz", body, url, content_type)
        except Exception as e:  # noqa: BLE001 - what the fuzzing is looking for
            failures.add(f"page ({kind})", e)
    return {"pages": n, "page_mutations": dict(sorted(kinds.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10000)
    parser.add_argument("--cli", type=int, default=200,
                        help="of the queries, how many also go through the command line")
    parser.add_argument("--pages", type=int, default=1400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, help="an archive to search (default: a crawl of "
                        "the fixture portals into a temporary directory)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    failures = Failures()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "data"
            crawl_fixtures(data)
        result: dict[str, object] = fuzz_queries(data, args.queries, args.cli, rng, failures)
    result.update(fuzz_pages(args.pages, rng, failures))
    result["tracebacks"] = sum(failures.kinds.values())
    result["traceback_kinds"] = dict(failures.kinds)
    result["first_tracebacks"] = failures.first
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
