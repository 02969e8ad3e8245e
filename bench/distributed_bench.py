"""The distributed crawl against the single-machine crawl, on many generated portals on loopback.

    .venv/bin/python bench/distributed_bench.py [--portals 40] [--pages 200] [--latency 0.02]
                                                [--workers 1 --workers 2 --workers 4]

``--portals`` portals of about ``--pages`` pages each (bench/crawl_bench.py's chrome-heavy
portal, served under one host name per portal, ``--latency`` added to every answer) are
crawled once by the single-machine crawl (every portal at once in one process, as
``portal-archive crawl --all`` does) and once per ``--workers`` count by that many worker
processes of a distributed crawl (``crawl --redis``, each crawling REDIS_WORKER_PORTALS
portals at once) on a Redis of our own on 127.0.0.1. For each: wall time, pages per second,
CPU per page (the crawl's processes and their page readers; Redis's own CPU separately), then
the time ``merge`` takes to index every worker's WARC files into one archive. Then Redis's
memory per 100,000 queued requests (a frontier filled with the crawl's own request JSON, its
seen set included) and per 100,000 known articles, and what the figures imply for recrawling
5 million pages a week. Every crawl runs with the loopback settings of ``crawl --fixtures``
(no delay, 4 requests at a time per host): it measures the machine, not politeness.

Other processes on the machine skew every figure: the load average is printed first and
last.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis  # noqa: E402
from crawl_bench import PER_LISTING, BenchServer, Portal  # noqa: E402
from scrapy import Request  # noqa: E402

from crawler.distributed import localredis  # noqa: E402
from crawler.distributed.cluster import Cluster, Frontier  # noqa: E402
from crawler.registry import Portal as Site  # noqa: E402
from crawler.runner import FIXTURE_SETTINGS  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
WEEK = 7 * 86400


def settings(server: BenchServer) -> dict[str, object]:
    return {**FIXTURE_SETTINGS, "PORTAL_PROXY": server.proxy, "PORTAL_MAX_PAGES": 10**7,
            "DEPTH_LIMIT": 0, "LOG_LEVEL": "WARNING", "HEALTH_NOW": "2025-01-01"}


def sites(count: int) -> list[Site]:
    return [Site.from_url(f"http://bench-{n:03d}.test/") for n in range(count)]


def run(commands: list[list[str]], server: BenchServer, env: dict[str, str]) -> dict:
    """Run ``commands`` side by side to their end: wall time, CPU of each (with the page
    readers each one waited for), pages served."""
    server.requests = 0
    started = time.monotonic()
    # stderr to files, not pipes: a pipe read only at the end fills and stalls a chatty crawl.
    logs = [tempfile.TemporaryFile() for _ in commands]
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=log)
             for c, log in zip(commands, logs, strict=True)]
    cpu, failures = 0.0, []
    for proc, log in zip(procs, logs, strict=True):
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        if proc.returncode != 0:
            log.seek(0)
            failures.append(log.read().decode(errors="replace")[-500:])
        log.close()
    return {"wall": time.monotonic() - started, "cpu": cpu, "pages": server.requests,
            "failures": failures}


def single_machine(work: Path, server: BenchServer, portals: int, env: dict[str, str]) -> dict:
    script = (
        "import json, sys; from pathlib import Path\n"
        "from crawler.registry import Portal\n"
        "from crawler.runner import crawl, project_settings\n"
        "ids, overrides, data = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]\n"
        "crawl([Portal.from_url(u) for u in ids], project_settings(Path(data), overrides))\n")
    urls = [s.base_url for s in sites(portals)]
    return run([[PYTHON, "-c", script, json.dumps(urls), json.dumps(settings(server)),
                 str(work / "single")]], server, env)


def distributed(work: Path, server: BenchServer, portals: int, workers: int,
                env: dict[str, str]) -> dict:
    proc, url = localredis.start(work / f"redis-{workers}")
    try:
        cluster = Cluster(url)
        for site in sites(portals):
            cluster.enqueue(site.to_dict())
        flags = [x for k, v in settings(server).items() for x in ("-s", f"{k}={v}")]
        dirs = [work / f"w{workers}-{n}" for n in range(workers)]
        result = run([[PYTHON, "-m", "portal_archive.cli", "--data", str(d), "crawl",
                       "--redis", url, "--until-done", *flags] for d in dirs], server, env)
        info = redis.Redis.from_url(url).info()
        result["redis_cpu"] = info["used_cpu_sys"] + info["used_cpu_user"]
        result["redis_peak_mb"] = info["used_memory_peak"] / 1024**2
        started = time.monotonic()
        merged = subprocess.run([PYTHON, "-m", "portal_archive.cli", "--data",
                                 str(work / f"merged-{workers}"), "merge", "--json",
                                 *map(str, dirs)], capture_output=True, text=True, env=env)
        result["merge_s"] = time.monotonic() - started
        result["merged"] = json.loads(merged.stdout) if merged.returncode == 0 else {}
        return result
    finally:
        localredis.stop(proc)


def redis_memory(work: Path, count: int) -> tuple[float, float]:
    """Bytes of Redis memory per queued request and per known article."""
    proc, url = localredis.start(work / "redis-memory")
    try:
        client = redis.Redis.from_url(url)
        cluster = Cluster(url)
        site = sites(1)[0]
        cluster.take(site.to_dict(), "bench", 600)
        frontier = Frontier(cluster, site.id, "bench")
        before = client.info("memory")["used_memory"]
        pipe_size = 1000
        for start in range(0, count, pipe_size):
            for n in range(start, start + pipe_size):
                path = f"/tin-tuc/chuyen-muc-{n % 40}/bai-viet-so-{n}-ve-nong-thon-moi.html"
                request = Request(site.base_url.rstrip("/") + path, priority=0)
                data = request.to_dict()
                data["headers"] = {}
                data["body"] = ""
                frontier.push(json.dumps(data), fingerprint=f"{n:040x}", priority=0)
        queued = (client.info("memory")["used_memory"] - before) / count
        before = client.info("memory")["used_memory"]
        capture = {"url": "", "record_id": "<urn:uuid:6f1d9a5e-4c2b-4f7e-9a51-0d2c3b4a5e6f>",
                   "time": "2026-12-01T10:00:00.123456Z",
                   "payload_digest": "sha1:GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
                   "validators": {"If-None-Match": 'W/"2a7373241c5e4e66"',
                                  "If-Modified-Since": "Fri, 19 Dec 2025 01:00:00 GMT"}}
        for start in range(0, count, pipe_size):
            batch = {}
            for n in range(start, start + pipe_size):
                url_ = f"{site.base_url}tin-tuc/bai-viet-so-{n}-ve-nong-thon-moi.html"
                batch[url_] = {**capture, "url": url_}
            cluster.remember(site.id, batch)
        known = (client.info("memory")["used_memory"] - before) / count
        return queued, known
    finally:
        localredis.stop(proc)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=40)
    parser.add_argument("--pages", type=int, default=200, help="about this many per portal")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--workers", type=int, action="append",
                        help="worker processes (repeatable; default 1, 2 and 4)")
    parser.add_argument("--memory", type=int, default=100_000,
                        help="requests queued (and articles known) to measure Redis memory")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    # Articles such that home, listings, static pages and articles make about --pages pages.
    articles = max(10, round((args.pages - 10) / (1 + 1 / PER_LISTING)))
    server = BenchServer(Portal(articles), args.latency)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, http_proxy="", HTTP_PROXY="", no_proxy="")
    work = Path(tempfile.mkdtemp(prefix="distributed-bench-", dir=args.workdir))
    print(f"{args.portals} portals of {articles} articles, {args.latency * 1000:.0f} ms latency; "
          f"{os.cpu_count()} CPUs; load average at start: {load()}\n")
    header = (f"{'crawl':<22} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'CPU ms/page':>11} "
              f"{'Redis CPU ms/page':>17} {'Redis peak MB':>13} {'merge s':>8}")
    print(header)
    print("-" * len(header))
    try:
        rows = [("single machine", single_machine(work, server, args.portals, env))]
        show(*rows[-1])
        for workers in args.workers or [1, 2, 4]:
            rows.append((f"{workers} worker(s)",
                         distributed(work, server, args.portals, workers, env)))
            show(*rows[-1])
        queued, known = redis_memory(work, args.memory)
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nRedis memory: {queued * 100_000 / 1024**2:.1f} MB per 100,000 queued requests "
          f"({queued:.0f} bytes each, seen set included); {known * 100_000 / 1024**2:.1f} MB "
          f"per 100,000 known articles")
    best = max((r for _, r in rows[1:]), key=lambda r: r["pages"] / r["wall"])
    rate = best["pages"] / best["wall"]
    cores = os.cpu_count() or 1
    cpu_page = sum(r["cpu"] for _, r in rows[1:]) / sum(r["pages"] for _, r in rows[1:])
    needed = 5e6 / WEEK
    print(f"\nScaling: {rate / cores:.1f} pages/s per core at best here ({rate:.1f} pages/s on "
          f"{cores} cores; {cpu_page * 1000:.1f} ms of CPU per page). 5,000,000 pages a week is "
          f"{needed:.1f} pages/s: {math.ceil(needed / rate)} machine(s) like this one, busy "
          f"{needed / rate:.0%} of the week; {5e6 * cpu_page / 3600:.0f} CPU-hours, "
          f"{5e6 * cpu_page / WEEK:.2f} cores busy all week.")
    print(f"load average at the end: {load()}")


def show(name: str, r: dict) -> None:
    redis_cpu = (f"{r['redis_cpu'] / r['pages'] * 1000:>17.2f}" if "redis_cpu" in r
                 else f"{'-':>17}")
    peak = f"{r['redis_peak_mb']:>13.1f}" if "redis_peak_mb" in r else f"{'-':>13}"
    merge = f"{r['merge_s']:>8.1f}" if "merge_s" in r else f"{'-':>8}"
    print(f"{name:<22} {r['pages']:>6} {r['wall']:>8.1f} {r['pages'] / r['wall']:>8.1f} "
          f"{r['cpu'] / r['pages'] * 1000:>11.1f} {redis_cpu} {peak} {merge}"
          + (f"  FAILED: {r['failures']}" if r["failures"] else ""), flush=True)


if __name__ == "__main__":
    main()
