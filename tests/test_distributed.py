"""A crawl shared by worker processes through a real Redis (started on 127.0.0.1 by the tests):
every gold article archived once, no URL fetched twice, politeness held at the server across
workers, nothing lost when a worker is killed, and a second run that fetches no article."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from protego import Protego

from crawler.distributed import localredis
from crawler.distributed.cluster import Cluster, Frontier, LeaseLost
from crawler.registry import load_fixture_portals
from crawler.runner import FIXTURE_SETTINGS
from portal_archive.demo.archives import CommonCrawlServer
from tests.conftest import FIXTURES, gold_records, run_cli

GOLD = gold_records()
WORKERS = 3
# Short leases, so that a killed worker's portal is taken over within seconds. (Pages are read
# in a second process, as by default: read in the crawl's own, a page's first reading loads
# the cleaners' models and can hold a worker silent for seconds on a busy machine.)
WORKER_SETTINGS = ["-s", "REDIS_LEASE_TIMEOUT=6", "-s", "LOG_LEVEL=INFO"]
# The fixture server's Crawl-delay cap (baonghean's robots.txt asks for 10 s).
CRAWL_DELAY = FIXTURE_SETTINGS["ROBOTSTXT_CRAWL_DELAY_MAX"]
LATENCY = 0.05  # seconds the fixture server takes to answer
JITTER = 0.1  # seconds: how much later than sent a request may reach the server
# Requests to one host at once. A small delay keeps Scrapy from sending a burst past the limit:
# with no delay at all, Scrapy 2.19's downloader hands a slot's whole queue over at once
# (single-machine crawls too). With 10 ms between requests and 50 ms answers, 5 would be open
# at once unless the limit held them.
PER_HOST = 2
POLITE = ["-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={PER_HOST}", "-s", "DOWNLOAD_DELAY=0.01"]


@pytest.fixture
def redis_url(tmp_path_factory):
    proc, url = localredis.start(tmp_path_factory.mktemp("redis"))
    yield url
    localredis.stop(proc)


def start_worker(data: Path, url: str, exchanges: Path, *settings: str,
                 until_done: bool = True) -> subprocess.Popen:
    env = dict(os.environ, PORTAL_ARCHIVE_DATA=str(data),
               PORTAL_ARCHIVE_FIXTURE_EXCHANGES=str(exchanges),
               # Answers that take a while, as a real portal's do: requests open at once
               # become visible at the server.
               PORTAL_ARCHIVE_FIXTURE_LATENCY=str(LATENCY))
    return subprocess.Popen(
        [sys.executable, "-m", "portal_archive.cli", "crawl", "--redis", url, "--fixtures",
         str(FIXTURES), *(["--until-done"] if until_done else []), *WORKER_SETTINGS,
         *settings],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(workers: list[subprocess.Popen]) -> list[str]:
    """Wait for the workers; what each printed on stderr."""
    errors = []
    for worker in workers:
        _, stderr = worker.communicate(timeout=300)
        errors.append(stderr)
    return errors


def exchanges(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def article_urls(data: Path) -> Counter[str]:
    conn = sqlite3.connect(data / "index.db")
    try:
        return Counter(url for (url,) in conn.execute("select url from articles"))
    finally:
        conn.close()


def answered_in_full_twice(log: Path) -> dict[str, int]:
    """URLs the server answered more than once with something other than a failure the
    fixtures script (``fail_first_n``: a 500 that the crawl retries), robots.txt aside."""
    counts = Counter(f"http://{e['host']}{e['path']}" for e in exchanges(log)
                     if e["status"] < 500 and e["path"] != "/robots.txt")
    return {url: n for url, n in counts.items() if n > 1}


def crawl_with_workers(tmp_path: Path, url: str, log: Path, run: str) -> list[Path]:
    run_cli("enqueue", "--redis", url, "--all", "--fixtures", str(FIXTURES),
            data=tmp_path / "archive")
    dirs = [tmp_path / f"worker-{n}" for n in range(WORKERS)]
    errors = finish([start_worker(d, url, log, *POLITE) for d in dirs])
    assert not [e for e in errors if "Traceback" in e or "ERROR" in e], errors
    run_cli("merge", *map(str, dirs), data=tmp_path / "archive")
    return dirs


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Three workers crawl the fixture portals twice (the second run: nothing changed)."""
    tmp = tmp_path_factory.mktemp("distributed")
    proc, url = localredis.start(tmp / "redis")
    try:
        first, second = tmp / "first.jsonl", tmp / "second.jsonl"
        workers = crawl_with_workers(tmp, url, first, "first")
        crawl_with_workers(tmp, url, second, "second")
        yield tmp / "archive", workers, first, second
    finally:
        localredis.stop(proc)


def test_every_gold_article_is_stored_once_in_the_merged_archive(two_runs):
    archive, workers, _, _ = two_runs
    stored = article_urls(archive)
    assert {g["url"] for g in GOLD} <= set(stored)
    assert [url for url, n in stored.items() if n > 1] == []
    # The portals were shared: more than one worker archived something.
    assert sum(bool(article_urls(w)) for w in workers if (w / "index.db").exists()) > 1
    # Search and export read the merged archive.
    found = json.loads(run_cli("search", GOLD[0]["title"], "--json", data=archive).stdout)
    assert GOLD[0]["url"] in {hit["url"] for hit in found}
    assert run_cli("verify", data=archive).returncode == 0


def test_no_url_is_fetched_twice_across_workers(two_runs):
    _, _, first, _ = two_runs
    assert answered_in_full_twice(first) == {}


def test_politeness_holds_at_the_server_across_workers(two_runs):
    _, _, first, _ = two_runs
    by_host = defaultdict(list)
    for e in exchanges(first):
        by_host[e["host"]].append(e)
    assert set(by_host) == {urlsplit(g["url"]).hostname for g in GOLD}
    portal_of = {p.host: p.id for p in load_fixture_portals(FIXTURES).values()}
    for host, seen in by_host.items():
        # One worker (its own fixture server, here) crawls a host at a time...
        spans = defaultdict(list)
        for e in seen:
            spans[e["server"]].append((e["start"], e["end"]))
        ordered = sorted((min(s for s, _ in v), max(e for _, e in v)) for v in spans.values())
        assert all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:], strict=False)), host
        # ... with no more requests at once than one crawl allows.
        events = sorted([(e["start"], 1) for e in seen] + [(e["end"], -1) for e in seen])
        running = peak = 0
        for _, step in events:
            running += step
            peak = max(peak, running)
        assert peak <= PER_HOST, host
        # Nothing its robots.txt forbids was asked for (the fixture pages link to such paths).
        rules = Protego.parse((FIXTURES / "sites" / portal_of[host] / "files" /
                               "robots.txt").read_text())
        assert [e["path"] for e in seen
                if not rules.can_fetch(f"http://{host}{e['path']}", "*")] == [], host
    # baonghean's robots.txt asks for a Crawl-delay (capped for the fixture server): any n
    # requests in a row span at least n - 1 delays. The way from crawler to server takes a
    # few milliseconds more or less each time (tens on a busy machine): JITTER allows for it.
    starts = sorted(e["start"] for e in by_host["baonghean.test"] if e["path"] != "/robots.txt")
    assert len(starts) > 20
    for i, first in enumerate(starts):
        for n, later in enumerate(starts[i + 1:], start=1):
            assert later - first >= n * CRAWL_DELAY - JITTER, (i, n, later - first)


def test_a_second_run_fetches_no_article_in_full(two_runs):
    archive, _, _, second = two_runs
    articles = {urlsplit(g["url"])._replace(scheme="", netloc="").geturl() for g in GOLD}
    fetched = [e for e in exchanges(second) if e["path"] in articles]
    # Asked for only conditionally, and never answered in full (a 500 the fixtures script
    # before an article's first answer is no article either; its retry gets the 304).
    assert all(e["conditional"] and e["status"] != 200 for e in fetched), fetched
    assert sum(e["status"] == 304 for e in fetched) > 0
    assert answered_in_full_twice(second) == {}
    # Nothing new, nothing lost: the same articles, each once.
    stored = article_urls(archive)
    assert {g["url"] for g in GOLD} <= set(stored) and max(stored.values()) == 1


def holder_pid(client: redis.Redis, portal: str) -> int | None:
    """The pid of the worker holding ``portal``'s lease (worker ids are host-pid-tag)."""
    holder = client.get(f"pa:lease:{portal}")
    return int(holder.decode().rsplit("-", 2)[1]) if holder else None


def wait_for(condition: Callable[[], object], seconds: float = 120) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("the state waited for never came")


def test_a_killed_workers_portals_are_finished_by_the_others(tmp_path, redis_url):
    log = tmp_path / "exchanges.jsonl"
    log.touch()
    run_cli("enqueue", "--redis", redis_url, "--all", "--fixtures", str(FIXTURES),
            data=tmp_path / "archive")
    dirs = [tmp_path / f"worker-{n}" for n in range(WORKERS)]
    # Slow enough (one request at a time, 0.2 s apart) to be killed in the middle of a portal.
    workers = [start_worker(d, redis_url, log, "-s", "DOWNLOAD_DELAY=0.2",
                            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1") for d in dirs]
    client = redis.Redis.from_url(redis_url)
    portals = {urlsplit(g["url"]).hostname: g["portal"] for g in GOLD}

    def victim() -> tuple[subprocess.Popen, str] | None:
        """A worker holding a portal whose server has answered 8 of its requests."""
        served = Counter(e["host"] for e in exchanges(log))
        for host, portal in portals.items():
            pid = holder_pid(client, portal)
            for worker in workers:
                if worker.pid == pid and served[host] >= 8:
                    return worker, portal
        return None

    killed, portal = wait_for(victim)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    # What it had under way, in every portal it held: the only requests another worker may
    # make again, with the start pages a worker taking a portal over asks for (liveness).
    held = [p for p in portals.values() if holder_pid(client, p) == killed.pid]
    fixture_portals = load_fixture_portals(FIXTURES)
    again = {url for p in held for url in fixture_portals[p].start_urls}
    for p in held:
        again |= {json.loads(client.hget(f"pa:requests:{p}", i))["url"]
                  for i in client.zrange(f"pa:inflight:{p}", 0, -1)}
    errors = finish([w for w in workers if w is not killed])
    assert not [e for e in errors if "Traceback" in e], errors
    # Another worker took the portal over and went on from the shared frontier.
    assert int(client.hget(f"pa:job:{portal}", "attempts")) >= 2
    assert client.zscore("pa:done", portal) is not None
    run_cli("merge", *map(str, dirs), data=tmp_path / "archive")
    stored = article_urls(tmp_path / "archive")
    assert {g["url"] for g in GOLD} <= set(stored)  # 0 lost
    assert max(stored.values()) == 1  # 0 duplicates
    assert set(answered_in_full_twice(log)) <= again
    for data in [tmp_path / "archive", *dirs]:
        report = json.loads(run_cli("verify", "--json", data=data, check=False).stdout)
        assert report["ok"], (data, report["problems"])


def test_without_redis_commands_say_so_in_one_line_and_a_worker_waits_for_it(tmp_path):
    port = localredis.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    for command in (["enqueue", "--redis", url, "--all"], ["status", "--redis", url]):
        result = run_cli(*command, data=tmp_path / "archive", check=False)
        assert result.returncode == 1
        assert result.stderr.strip().count("\n") == 0 and "unreachable" in result.stderr
    portal = GOLD[0]["portal"]
    # Not --until-done: it would stop as soon as it finds Redis with nothing queued yet.
    worker = start_worker(tmp_path / "worker", url, tmp_path / "exchanges.jsonl",
                          until_done=False)
    assert worker.stderr is not None
    first = worker.stderr.readline()  # the worker says it waits (then tries again, and again)
    assert f"Redis at {url} is unreachable" in first and "trying again" in first
    proc, _ = localredis.start(tmp_path / "redis", port=port)
    try:
        run_cli("enqueue", "--redis", url, "--portal", portal, "--fixtures", str(FIXTURES),
                data=tmp_path / "archive")
        client = redis.Redis.from_url(url)
        wait_for(lambda: client.zscore("pa:done", portal) is not None, 300)
        worker.send_signal(signal.SIGTERM)
        _, rest = worker.communicate(timeout=120)
    finally:
        localredis.stop(proc)
    assert worker.returncode == 1  # stopped by a signal, as an interrupted crawl says
    assert "Traceback" not in first + rest
    # Every line it printed says Redis was away, or acknowledges the SIGTERM sent above
    # (whether it comes before the process ends is a matter of timing): nothing else.
    assert [line for line in (first + rest).splitlines() if "unreachable" not in line
            and not line.startswith("SIGTERM: stopping")] == [], rest
    assert {g["url"] for g in GOLD if g["portal"] == portal} <= set(
        article_urls(tmp_path / "worker"))


def test_recovery_jobs_run_one_at_a_time_in_the_cluster(crawled_archive, tmp_path, redis_url):
    # The fixture crawl, served as a Common Crawl look-alike: the web archive to recover from.
    warc = tmp_path / "cc"
    shutil.copytree(crawled_archive / "warc", warc)
    with CommonCrawlServer(warc) as cc:
        queued = json.loads(run_cli("enqueue", "--redis", redis_url, "--recover", "--fixtures",
                                    str(FIXTURES), "--json", data=tmp_path / "archive").stdout)
        assert sorted(queued["queued"]) == sorted({g["portal"] for g in GOLD})
        dirs = [tmp_path / f"recovery-{n}" for n in range(2)]
        workers = [subprocess.Popen(
            [sys.executable, "-m", "portal_archive.cli", "--data", str(d), "recover",
             "--redis", redis_url, "--until-done", "--source", "cc",
             "-s", f"RECOVER_CC_INDEX={cc.url}collinfo.json", "-s", f"RECOVER_CC_DATA={cc.url}",
             "-s", "RECOVER_CC_RATE=6000", "-s", "REDIS_LEASE_TIMEOUT=6"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for d in dirs]
        errors = finish(workers)
    assert [w.returncode for w in workers] == [0, 0], errors
    # Each portal was recovered by one worker only (one job at a time, each job once) ...
    recovered = []
    for d in dirs:
        if (d / "index.db").exists():
            conn = sqlite3.connect(d / "index.db")
            recovered += [p for (p,) in conn.execute("select distinct portal from articles")]
            conn.close()
    assert sorted(recovered) == sorted({g["portal"] for g in GOLD})
    # ... and the merged archive holds every gold article once, from Common Crawl.
    run_cli("merge", *(str(d) for d in dirs if d.exists()), data=tmp_path / "archive")
    conn = sqlite3.connect(tmp_path / "archive" / "index.db")
    rows = conn.execute("select url, alternate_urls, portal, source from articles").fetchall()
    conn.close()
    assert Counter(portal for _, _, portal, _ in rows) == Counter(g["portal"] for g in GOLD)
    source_of = {u: source for url, others, _, source in rows
                 for u in [url, *json.loads(others or "[]")]}  # under another parameter order
    assert all(source_of.get(g["url"]) == "cc" for g in GOLD)


def test_the_shared_frontier_hands_out_requests_as_a_lease_allows(redis_url):
    cluster = Cluster(redis_url)
    portal = {"id": "p", "base_url": "http://p.test/"}
    assert cluster.enqueue(portal) and not cluster.enqueue(portal)  # queued once
    assert cluster.claim("a", ttl=60) == "p" and cluster.claim("b", ttl=60) is None
    mine = Frontier(cluster, "p", "a")
    assert mine.push("one", fingerprint="1", priority=0)
    assert not mine.push("one again", fingerprint="1", priority=0)  # seen in this run
    assert mine.push("two", fingerprint="2", priority=0)
    assert mine.push("urgent", fingerprint="3", priority=5)
    # Highest priority first, then the newest (Scrapy's order); each goes under way.
    taken = [mine.pop() for _ in range(3)]
    assert [t[1] for t in taken if t] == ["urgent", "two", "one"] and mine.pop() is None
    mine.ack([taken[0][0]])
    # Worker a dies: b may take the portal only once the lease has run out ...
    client = redis.Redis.from_url(redis_url)
    assert cluster.claim("b", ttl=60) is None
    client.delete("pa:lease:p")  # (as its expiry would)
    assert cluster.claim("b", ttl=60) == "p"
    theirs = Frontier(cluster, "p", "b")
    # ... and finds what a had under way, but not what a had handled.
    assert theirs.restore() == (2, 2, 3)
    assert sorted(theirs.pop()[1] for _ in range(2)) == ["one", "two"]
    # a, back from the dead, can change nothing any more.
    with pytest.raises(LeaseLost):
        mine.push("late", fingerprint="4", priority=0)
    with pytest.raises(LeaseLost):
        mine.ack([taken[1][0]])
    assert not cluster.release("p", "a", finished=True)
    assert cluster.release("p", "b", finished=True)
    assert cluster.idle() and client.exists("pa:seen:p") == 0  # the next run starts afresh


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie too: 'cluster up' exited, so no parent of ours
    reaps what it started)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def test_a_local_cluster_starts_works_and_stops(tmp_path):
    data = tmp_path / "data"
    run_cli("cluster", "up", "--workers", "2", "--fixtures", str(FIXTURES), data=data)
    state = json.loads((data / "cluster" / "cluster.json").read_text())
    try:
        assert urlsplit(state["redis"]).hostname == "127.0.0.1"
        queued = json.loads(run_cli("enqueue", "--all", "--fixtures", str(FIXTURES), "--json",
                                    data=data).stdout)["queued"]
        assert set(queued) == {g["portal"] for g in GOLD}
        cluster = Cluster(state["redis"])

        def settled() -> bool:
            """Every portal done, and both workers say so: waiting, with no portal."""
            now = cluster.snapshot()
            return (now["done"] == len(queued) and len(now["workers"]) == 2
                    and all(w["state"] == "waiting" and not w["portals"]
                            for w in now["workers"]))

        wait_for(settled, 300)
        shown = json.loads(run_cli("status", "--json", data=data).stdout)["cluster"]
        assert [w["alive"] for w in shown["workers"]] == [True, True]
        assert sum(w["portals_crawled"] for w in shown["workers"]) == len(queued)
        assert shown["queue"] == 0 and shown["portals"] == []
        assert shown["done"] == len(queued)
        run_cli("merge", data=data)  # the local cluster's workers, by default
        stored = article_urls(data)
        assert {g["url"] for g in GOLD} <= set(stored) and max(stored.values()) == 1
    finally:
        run_cli("cluster", "down", data=data)
    assert not (data / "cluster" / "cluster.json").exists()
    assert all(gone(pid) for pid in [state["redis_pid"], *state["workers"].values()])
