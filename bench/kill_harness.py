"""Kill -9 a crawl at random moments, repair, crawl on; then count what was lost.

    python bench/kill_harness.py [--kills 20] [--seed 1] [--portal aluoi-tth] [--workdir DIR]

Each round starts ``portal-archive crawl`` of the fixture portals into an archive of its own
(one request at a time, a little delay, so that a round has moments to be killed in), waits
until the loopback server has answered a random number of requests (a random moment of the
crawl, drawn from the requests a whole crawl makes), sends SIGKILL to the crawl's process group
and runs ``verify --repair``; the next crawl then runs to its end, and the archive is checked:

- articles lost: gold articles (``portal_archive/demo/fixtures/gold``) not stored, under their
  URL or one of their other URLs;
- duplicates: articles stored twice (one body under two rows of one portal);
- missing before and after repair: WARC records without their index row, by ``verify`` right
  after the kill, and (with any other problem) after the repair, and after the last crawl's;
- invalid WARCs: files warcio cannot read through, or whose records fail their digests;
- documents lost: documents of stored articles the fixture serves but no crawl archived.

Prints one JSON object with these figures summed over the rounds, and the kill moments.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "portal_archive" / "demo" / "fixtures"
SLOW = ["-s", "DOWNLOAD_DELAY=0.05", "-s", "CONCURRENT_REQUESTS=1", "-s", "LOG_LEVEL=WARNING"]


def cli(data: Path, *args: str, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "portal_archive.cli", "--data", str(data), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=ROOT, timeout=600)
    if check and proc.returncode not in (0, 1):
        raise RuntimeError(f"portal-archive {' '.join(args)}: {proc.stderr[-2000:]}")
    return proc


def served(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def crawl_args(portals: list[str]) -> list[str]:
    return ["crawl", "--fixtures", str(FIXTURES), *[a for p in portals for a in ("--portal", p)],
            *SLOW]


def kill_at(data: Path, portals: list[str], requests: int, log: Path) -> bool:
    """Crawl until the server has answered ``requests`` requests, then kill -9 the crawl.
    False when the crawl ended first."""
    log.unlink(missing_ok=True)
    env = {**os.environ, "PORTAL_ARCHIVE_FIXTURE_LOG": str(log)}
    proc = subprocess.Popen([sys.executable, "-m", "portal_archive.cli", "--data", str(data),
                             *crawl_args(portals)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    while proc.poll() is None and served(log) < requests:
        time.sleep(0.01)
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def missing_from_index(data: Path) -> int:
    report = json.loads(cli(data, "verify", "--json", check=False).stdout)
    return report.get("missing", 0) + len(report.get("problems", []))


def invalid_warcs(data: Path) -> list[str]:
    bad = []
    for path in sorted((data / "warc").iterdir()):
        try:
            with open(path, "rb") as fh:
                for record in ArchiveIterator(fh, check_digests=True):
                    record.content_stream().read()
                    if record.digest_checker.problems:
                        raise ValueError(record.digest_checker.problems)
        except Exception as e:  # noqa: BLE001 - any failure makes the file invalid
            bad.append(f"{path.name}: {e}")
    return bad


def gold(portals: list[str]) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for portal in portals
            for p in sorted((FIXTURES / "gold" / portal).glob("*.json"))]


def figures(data: Path, portals: list[str]) -> dict[str, object]:
    conn = sqlite3.connect(data / "index.db")
    stored = set()
    for url, alternates in conn.execute("select url, alternate_urls from articles"):
        stored |= {url, *json.loads(alternates or "[]")}
    lost = [g["url"] for g in gold(portals) if g["url"] not in stored
            and not set(g.get("alternate_urls", [])) & stored]
    duplicates = conn.execute("select coalesce(sum(n - 1), 0) from (select count(*) n from "
                              "articles group by portal, digest)").fetchone()[0]
    documents_lost = conn.execute(
        "select count(distinct t.url) from attachments t where not exists (select 1 from "
        "captures c where c.url = t.url and c.status between 200 and 299)").fetchone()[0]
    conn.close()
    return {"articles_lost": len(lost), "lost": lost, "duplicates": duplicates,
            "documents_lost": documents_lost}


def run(kills: int, seed: int, workdir: Path, portals: list[str]) -> dict[str, object]:
    """``kills`` rounds, each on an archive of its own: a first crawl killed at a random moment,
    ``verify --repair``, then the next crawl to its end."""
    rng = random.Random(seed)
    log = workdir / "requests.log"
    # A whole crawl's requests: the range a kill moment is drawn from.
    cli(workdir / "probe", *crawl_args(portals)[:-len(SLOW)], "-s", "LOG_LEVEL=WARNING",
        env={"PORTAL_ARCHIVE_FIXTURE_LOG": str(log)})
    whole = served(log)
    totals: dict[str, object] = {"kills": 0, "requests_per_crawl": whole, "kill_moments": [],
                                 "missing_before_repair": 0,
                                 "rounds_missing_before_repair": 0,
                                 "repairs": 0, "missing_after_repair": 0, "articles_lost": 0,
                                 "rounds_losing_articles": 0, "duplicates": 0,
                                 "documents_lost": 0, "rounds_losing_documents": 0,
                                 "invalid_warcs": []}
    for n in range(kills):
        data = workdir / f"round-{n:02d}"
        moment = rng.randint(1, whole)
        if not kill_at(data, portals, moment, log):
            continue
        totals["kills"] += 1
        totals["kill_moments"].append(moment)
        left = json.loads(cli(data, "verify", "--json", check=False).stdout)
        totals["missing_before_repair"] += left.get("missing", 0)
        totals["rounds_missing_before_repair"] += bool(left.get("missing"))
        repair = json.loads(cli(data, "verify", "--repair", "--json", check=False).stdout)
        totals["repairs"] += len(repair.get("repairs", []))
        totals["missing_after_repair"] += missing_from_index(data)
        cli(data, *crawl_args(portals))
        cli(data, "verify", "--repair", "--json", check=False)
        totals["missing_after_repair"] += missing_from_index(data)
        totals["invalid_warcs"] += invalid_warcs(data)
        found = figures(data, portals)
        totals["articles_lost"] += found["articles_lost"]
        totals["rounds_losing_articles"] += bool(found["articles_lost"])
        totals["duplicates"] += found["duplicates"]
        totals["documents_lost"] += found["documents_lost"]
        totals["rounds_losing_documents"] += bool(found["documents_lost"])
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--portal", action="append", dest="portals",
                        help="fixture portal to crawl (repeatable; default: all four)")
    parser.add_argument("--workdir", type=Path,
                        help="where the archives go (default: a temporary directory)")
    args = parser.parse_args()
    portals = args.portals or sorted(p.name for p in (FIXTURES / "gold").iterdir())
    with tempfile.TemporaryDirectory(prefix="kill-harness-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(json.dumps(run(args.kills, args.seed, workdir, portals), indent=1))


if __name__ == "__main__":
    main()
