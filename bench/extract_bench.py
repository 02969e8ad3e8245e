"""Pages per second of cleaners.extract and plain trafilatura.extract on the same pages.

Usage: .venv/bin/python bench/extract_bench.py [--fixtures DIR ...] [--real-pages DIR]
                                                [--rounds N]

Sets: every HTML page of each fixture directory's sites (articles, listings, static pages),
and, with ``--real-pages DIR``, real captured pages listed in ``DIR/manifest.json`` (entries
with ``file`` and ``url``). Both extractors run in the same process on the same bytes; host
templates are learned before timing (a crawl learns them once); the language detector's
model is loaded before timing too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import trafilatura

from cleaners import HostTemplate, extract, learn_from_articles
from cleaners.evaluate import load

ROOT = Path(__file__).resolve().parent.parent
Pages = list[tuple[bytes, str, HostTemplate | None]]


def fixture_pages(directory: Path) -> Pages:
    _, site_pages = load(directory)
    out: Pages = []
    for items in site_pages.values():
        template = learn_from_articles(items)
        out += [(body, url, template) for body, url in items]
    return out


def real_pages(directory: Path) -> Pages:
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    by_host: dict[str, list[tuple[bytes, str]]] = defaultdict(list)
    for entry in manifest:
        by_host[urlsplit(entry["url"]).hostname or ""].append(
            ((directory / entry["file"]).read_bytes(), entry["url"]))
    out: Pages = []
    for items in by_host.values():
        template = learn_from_articles(items)
        out += [(body, url, template) for body, url in items]
    return out


def rate(fn: Callable[[bytes, str, HostTemplate | None], object], pages: Pages,
         rounds: int) -> float:
    """Best pages/second over ``rounds`` passes (the best pass is the least disturbed)."""
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for body, url, template in pages:
            fn(body, url, template)
        best = max(best, len(pages) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", nargs="*", type=Path,
                        default=[ROOT / "portal_archive/demo/fixtures",
                                 ROOT / "tests/fixtures/patterns"])
    parser.add_argument("--real-pages", type=Path,
                        help="a folder of captured pages with a manifest.json")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sets = {str(d.relative_to(ROOT) if d.is_relative_to(ROOT) else d): fixture_pages(d)
            for d in args.fixtures}
    if args.real_pages is not None:
        if not (args.real_pages / "manifest.json").is_file():
            sys.exit(f"no manifest.json in {args.real_pages}")
        sets["real pages"] = real_pages(args.real_pages)
    runs = {
        "cleaners.extract": lambda b, u, t: extract(b, u, template=t),
        "trafilatura.extract": lambda b, u, t: trafilatura.extract(b, url=u),
    }
    body, url, template = next(iter(sets.values()))[0]
    extract(body, url, template=template)  # loads the language model before timing
    print(f"best of {args.rounds} rounds; pages/s")
    print(f"{'set':34s} {'pages':>5s} {'cleaners':>9s} {'trafilatura':>11s} {'ratio':>6s}")
    for name, pages in sets.items():
        ours, theirs = (rate(fn, pages, args.rounds) for fn in runs.values())
        print(f"{name:34s} {len(pages):5d} {ours:9.1f} {theirs:11.1f} {ours / theirs:5.2f}x")


if __name__ == "__main__":
    main()
