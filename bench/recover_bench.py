"""Recovery of the fixture portals from loopback web archives: articles recovered / gold,
captures fetched, seconds and requests per minute, per source and rate limit.

    python bench/recover_bench.py                     # rates 600/min and the defaults
    python bench/recover_bench.py --rates 600 6000 --default-limit 0

The fixture portals are crawled once; their WARC files are served by pywb (as a Wayback
archive) and by a Common Crawl look-alike; each source is then recovered alone into a new data
directory at each rate. ``--default-limit N`` also recovers N captures per portal at the
shipped default rates (15/min for ia, 30/min otherwise) to show the limit holds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.registry import load_fixture_portals  # noqa: E402
from portal_archive.demo import FIXTURES  # noqa: E402
from portal_archive.demo.archives import CommonCrawlServer, Wayback  # noqa: E402


def cli(*args: str, data: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "portal_archive.cli", "--data", str(data),
                           *args], capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr[-2000:])
    return proc.stdout


def registry(path: Path) -> Path:
    lines = []
    for p in load_fixture_portals(FIXTURES).values():
        lines += ["[[portal]]", f"id = {json.dumps(p.id)}", f"base_url = {json.dumps(p.base_url)}",
                  'status = "dead"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[600.0],
                        help="requests per minute to measure (default: 600)")
    parser.add_argument("--default-limit", type=int, default=3,
                        help="captures per portal at the default rates (0: skip)")
    args = parser.parse_args()
    gold = len(list(FIXTURES.glob("gold/*/*.json")))
    with tempfile.TemporaryDirectory(prefix="recover-bench-") as tmp:
        work = Path(tmp)
        live = work / "live"
        cli("crawl", "--fixtures", str(FIXTURES), "-s", "LOG_LEVEL=WARNING", data=live)
        reg = registry(work / "portals.toml")
        print(f"{'source':<8} {'rate/min':>8} {'articles/gold':>13} {'captures':>8} "
              f"{'requests':>8} {'seconds':>8} {'req/min':>8}")
        with Wayback(live / "warc", work / "pywb") as wb, CommonCrawlServer(live / "warc") as cc:
            sources = {
                "ia": ["-s", f"RECOVER_IA_CDX={wb.cdx}", "-s", f"RECOVER_IA_REPLAY={wb.replay}"],
                "cc": ["-s", f"RECOVER_CC_INDEX={cc.index}", "-s", f"RECOVER_CC_DATA={cc.url}"],
            }
            runs = [(name, rate, None) for rate in args.rates for name in sources]
            if args.default_limit:
                runs += [(name, None, args.default_limit) for name in sources]
            for n, (name, rate, limit) in enumerate(runs):
                data = work / f"out-{n}"
                extra = [] if rate is None else [
                    "-s", f"RECOVER_{name.upper()}_RATE={rate}"]
                if limit:
                    extra += ["--limit", str(limit)]
                started = time.monotonic()
                out = json.loads(cli("recover", "--registry", str(reg), "--dead", "--source",
                                     name, *sources[name], *extra, "--json", data=data))
                seconds = time.monotonic() - started
                fetched = sum(s["fetched"] for r in out for s in r["sources"])
                requests = sum(s["requests"] for r in out for s in r["sources"])
                busy = sum(s["seconds"] for r in out for s in r["sources"])
                articles = sum(r["articles"].get("new", 0) for r in out)
                shown = f"{rate:g}" if rate else "default"
                print(f"{name:<8} {shown:>8} {articles:>6}/{gold:<6} {fetched:>8} {requests:>8} "
                      f"{seconds:>8.1f} {requests / busy * 60 if busy else 0:>8.0f}")


if __name__ == "__main__":
    main()
