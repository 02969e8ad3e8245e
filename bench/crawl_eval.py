"""Score a crawl of the fixture portals against their gold records and manifests.

    python bench/crawl_eval.py [DATA_DIR]

Crawls every fixture portal into DATA_DIR (a temporary directory by default) and prints, per
portal: requests made, gold articles stored under their canonical URL, non-articles stored as
articles, duplicates, trap requests, attachments archived, duration.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import sqlite_utils

FIXTURES = Path(__file__).resolve().parent.parent / "portal_archive" / "demo" / "fixtures"


def path_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def score(data: Path, durations: dict[str, float]) -> list[dict]:
    db = sqlite_utils.Database(data / "index.db")
    rows = []
    for site in sorted((FIXTURES / "sites").iterdir()):
        manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
        portal = manifest["portal_id"]
        gold = [json.loads(p.read_text(encoding="utf-8"))
                for p in sorted((FIXTURES / "gold" / portal).glob("*.json"))]
        gold_urls = {g["url"] for g in gold}
        allowed = gold_urls | {u for g in gold for u in g.get("alternate_urls", [])}
        articles = list(db.query("select url from articles where portal = ?", [portal]))
        stored = [a["url"] for a in articles]
        captures = list(db.query(
            "select url, record_type from captures where portal = ? and "
            "record_type in ('response', 'revisit')", [portal]))
        trap = [c for c in captures if "ngay=" in c["url"]]
        attachments = [g_a["url"] for g in gold for g_a in g.get("attachments", [])]
        archived = {c["url"] for c in captures}
        rows.append({
            "portal": portal,
            "requests": len(captures),
            "found": len(gold_urls & set(stored)),
            "gold": len(gold_urls),
            "non_articles": len([u for u in stored if u not in allowed]),
            "non_canonical": sorted(u for u in stored if u in allowed and u not in gold_urls),
            "missing": sorted(gold_urls - set(stored)),
            "trap_requests": len(trap),
            "attachments": f"{len([a for a in attachments if a in archived])}/{len(attachments)}",
            "seconds": durations.get(portal),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", type=Path)
    args = parser.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="crawl-eval-"))
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "portal_archive.cli", "--data", str(data), "crawl", "--fixtures",
         str(FIXTURES), "--json", "-s", "LOG_LEVEL=WARNING"],
        capture_output=True, text=True)
    if proc.returncode not in (0, 4):
        sys.exit(proc.stderr[-3000:])
    durations = {}
    try:
        durations = {s["portal"]: s["seconds"] for s in json.loads(proc.stdout)}
    except (json.JSONDecodeError, KeyError, TypeError):
        pass
    # There are no family adapters: this is the generic crawl, "adapters off".
    print(f"data: {data}  wall: {time.monotonic() - started:.1f} s")
    for row in score(data, durations):
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
