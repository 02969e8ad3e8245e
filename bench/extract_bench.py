"""Pages per second of cleaners.extract and plain trafilatura.extract on the same pages.

Usage: .venv/bin/python bench/extract_bench.py [FIXTURE_DIR] [--rounds N]

Every HTML page of the fixture sites (articles, listings, static pages) is extracted by
both in the same process; templates are learned before timing (a crawl learns them once).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from cleaners import extract  # noqa: E402
from cleaners.evaluate import load, templates_for  # noqa: E402


def rate(fn, pages: list[tuple[bytes, str, str]], rounds: int) -> float:
    """Best pages/second over ``rounds`` passes (the best pass is the least disturbed)."""
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for body, url, portal in pages:
            fn(body, url, portal)
        best = max(best, len(pages) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixtures", nargs="?", default=str(ROOT / "portal_archive/demo/fixtures"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _, site_pages = load(args.fixtures)
    templates = templates_for(site_pages)
    pages = [(body, url, portal) for portal, items in site_pages.items()
             for body, url in items]
    runs = {
        "cleaners.extract (with template)": lambda b, u, p: extract(
            b, u, template=templates[p]),
        "cleaners.extract (no template)": lambda b, u, p: extract(b, u),
        "trafilatura.extract (defaults)": lambda b, u, p: trafilatura.extract(b, url=u),
    }
    results = {name: rate(fn, pages, args.rounds) for name, fn in runs.items()}
    print(f"{len(pages)} pages, best of {args.rounds} rounds")
    base = results["trafilatura.extract (defaults)"]
    for name, r in results.items():
        print(f"{name:36s} {r:8.1f} pages/s  ({r / base:.2f}x trafilatura)")


if __name__ == "__main__":
    main()
