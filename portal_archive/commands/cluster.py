"""Commands of a distributed crawl: ``enqueue`` (work for the workers), ``merge`` (their
archives into one), ``cluster up``/``down`` (Redis and workers on this machine). A worker is
``portal-archive crawl --redis URL``; ``status --redis URL`` shows the cluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from archive.lock import LockedError, RunLock
from archive.merge import MergeError, merge, pending_bytes
from archive.units import province_key, province_keys
from crawler.distributed import localredis
from crawler.distributed.cluster import Cluster, Unreachable, safe_url
from crawler.registry import RegistryError, load_fixture_portals, load_registry
from crawler.registry import select as select_portals
from crawler.runner import known_settings
from portal_archive.commands import CONTEXT_SETTINGS
from portal_archive.commands.recover import dead_or_named
from portal_archive.common import echo_json, parse_settings, progress_bar

CLUSTER_DIR = "cluster"  # DATA/cluster: a local cluster's Redis, workers and their archives
STATE = "cluster.json"


def redis_option(fn: Any) -> Any:
    return click.option("--redis", "redis_url", metavar="URL", envvar="PORTAL_ARCHIVE_REDIS",
                        help="The shared crawl's Redis (redis://HOST:PORT/DB). Env: "
                        "PORTAL_ARCHIVE_REDIS; default: the local cluster of the data "
                        "directory ('cluster up').")(fn)


def cluster_url(data: Path, redis_url: str | None) -> str:
    """The Redis URL given, else the one of the data directory's local cluster."""
    if redis_url:
        return redis_url
    state = data / CLUSTER_DIR / STATE
    if state.exists():
        return json.loads(state.read_text(encoding="utf-8"))["redis"]
    raise click.UsageError("give the shared crawl's Redis: --redis redis://HOST:PORT/DB "
                           "(or start a local one with 'portal-archive cluster up')")


def connect(url: str) -> Cluster:
    try:
        cluster = Cluster(url)
        cluster.ping()
    except Unreachable as e:
        raise click.ClickException(str(e)) from None
    return cluster


# -- enqueue ---------------------------------------------------------------------------------

@click.command("enqueue", context_settings=CONTEXT_SETTINGS)
@redis_option
@click.option("--portal", "portal_ids", multiple=True, metavar="ID",
              help="Queue this portal of the registry (repeatable).")
@click.option("--all", "all_portals", is_flag=True, help="Queue every enabled live portal.")
@click.option("--province", help="Queue every enabled live portal of this province (its name "
              "before the 2025 reform or the one it joined then).")
@click.option("--fixtures", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Take the portals from this fixture directory instead of the registry "
              "(the workers run with --fixtures too).")
@click.option("--recover", "recovery", is_flag=True,
              help="Queue recovery from web archives instead of crawls: of the portals named, "
              "or of every dead portal (registry status, or a liveness alarm in this data "
              "directory). Run them with 'recover --redis URL --source ...'.")
@click.option("--full", is_flag=True, help="Fetch stored articles again (OPS_FULL_CRAWL).")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="A crawler setting for these portals' runs, whichever worker takes them.")
@click.option("--json", "as_json", is_flag=True, help="Print what was queued as JSON.")
@click.pass_context
def enqueue_command(ctx: click.Context, redis_url: str | None, portal_ids: tuple[str, ...],
                    all_portals: bool, province: str | None, fixtures: Path | None,
                    recovery: bool, full: bool, settings: tuple[str, ...],
                    as_json: bool) -> None:
    """Queue portals for the workers of a distributed crawl.

    Each portal queued is crawled once, by whichever worker ('crawl --redis URL') takes it
    first; a portal already queued or under way is left as it is. Run it from cron to recrawl
    on a schedule.

    \b
    Example:
        portal-archive enqueue --redis redis://10.0.0.5:6379/0 --all
        portal-archive enqueue --portal aluoi-tth --portal vinhbao-hp
        portal-archive enqueue --province "Thừa Thiên Huế"
        portal-archive enqueue --recover   # every dead portal, for 'recover --redis URL'
    """
    chosen = sum(bool(x) for x in (portal_ids, all_portals, province))
    if recovery:
        ctx.exit(enqueue_recovery(ctx.obj["data"], redis_url, portal_ids, fixtures, as_json))
    if chosen != 1:
        raise click.UsageError("say what to queue: --all, --portal ID ... or --province NAME "
                               "(or --recover)")
    overrides = parse_settings(settings, known_settings())
    if full:
        overrides["OPS_FULL_CRAWL"] = True
    try:
        registry = load_fixture_portals(fixtures) if fixtures else load_registry()
        portals = select_portals(registry, portal_ids)
    except RegistryError as e:
        raise click.ClickException(str(e)) from None
    if province:
        portals = [p for p in portals if province_key(province) in province_keys(p.province)]
        if not portals:
            raise click.ClickException(f"no enabled live portal of the province {province!r}")
    cluster = connect(cluster_url(ctx.obj["data"], redis_url))
    queued, left = [], []
    try:
        for portal in portals:
            (queued if cluster.enqueue(portal.to_dict(), overrides) else left).append(portal.id)
    except Unreachable as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        echo_json({"queued": queued, "already_queued_or_under_way": left})
        return
    click.echo(f"queued {len(queued)} portal(s) in {safe_url(cluster.url)}"
               + (f"; {len(left)} already queued or under way: {', '.join(left)}"
                  if left else ""))


def enqueue_recovery(data: Path, redis_url: str | None, portal_ids: tuple[str, ...],
                     fixtures: Path | None, as_json: bool) -> int:
    """Queue the recovery of the portals named, or of every dead one."""
    try:
        if fixtures:
            registry = load_fixture_portals(fixtures)
            unknown = [i for i in portal_ids if i not in registry]
            if unknown:
                raise RegistryError(f"unknown portal id: {', '.join(unknown)}")
            portals = [registry[i] for i in portal_ids] or list(registry.values())
        else:
            portals = dead_or_named(portal_ids, data)
    except RegistryError as e:
        raise click.ClickException(str(e)) from None
    cluster = connect(cluster_url(data, redis_url))
    try:
        queued = [p.id for p in portals if cluster.enqueue_recovery(p.to_dict())]
    except Unreachable as e:
        raise click.ClickException(str(e)) from None
    left = [p.id for p in portals if p.id not in queued]
    if as_json:
        echo_json({"queued": queued, "already_queued_or_under_way": left})
    else:
        click.echo(f"queued the recovery of {len(queued)} portal(s)"
                   + (f"; {len(left)} already queued or under way" if left else ""))
    return 0


# -- merge -----------------------------------------------------------------------------------

@click.command("merge", context_settings=CONTEXT_SETTINGS)
@click.argument("sources", nargs=-1, type=click.Path(exists=True, file_okay=False,
                                                     path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print what was merged as JSON.")
@click.pass_context
def merge_command(ctx: click.Context, sources: tuple[Path, ...], as_json: bool) -> None:
    """Merge workers' archives (data directories) into this one, for search and export.

    Copies the closed WARC files the archive lacks (hard links on one filesystem) and indexes
    them, oldest first, as reindex would; run rows and learned templates come from the
    workers' indexes. Run it again at any time, while the workers go on: it adds only what is
    new. SOURCES default to the workers of the data directory's local cluster.

    \b
    Example:
        portal-archive --data /srv/archive merge /mnt/worker1 /mnt/worker2
        portal-archive --data /srv/archive merge   # after 'cluster up'
    """
    data: Path = ctx.obj["data"]
    if not sources:
        sources = tuple(sorted((data / CLUSTER_DIR / "workers").glob("*/")))
        if not sources:
            raise click.UsageError("give the workers' data directories to merge")
    try:
        with RunLock(data), progress_bar("Merging", pending_bytes(data, sources)) as progress:
            counts = merge(data, sources, progress=progress)
    except LockedError as e:
        raise click.ClickException(f"{e}: try again when it has finished") from None
    except MergeError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        echo_json(counts)
    else:
        click.echo(f"Merged {counts['files']} WARC file(s) of {len(sources)} archive(s): "
                   f"{counts['captures']:,} captures, {counts['articles']:,} articles, "
                   f"{counts['runs']} run(s).", err=True)


# -- a local cluster -------------------------------------------------------------------------

@click.group("cluster", context_settings=CONTEXT_SETTINGS)
def cluster_command() -> None:
    """Run a distributed crawl on this machine: Redis on 127.0.0.1 and N workers.

    Everything lives under DATA/cluster/: Redis's files, each worker's archive and log.
    Queue work with 'enqueue', watch with 'status', combine with 'merge'.

    \b
    Example:
        portal-archive cluster up --workers 3 --fixtures portal_archive/demo/fixtures
        portal-archive enqueue --all --fixtures portal_archive/demo/fixtures
        portal-archive status
        portal-archive merge
        portal-archive search "nông thôn mới"
        portal-archive cluster down
    """


@cluster_command.command("up", context_settings=CONTEXT_SETTINGS)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes to start.")
@click.option("--fixtures", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The workers crawl this fixture directory's portals on loopback.")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="A crawler setting for every worker.")
@click.pass_context
def cluster_up(ctx: click.Context, workers: int, fixtures: Path | None,
               settings: tuple[str, ...]) -> None:
    """Start Redis (127.0.0.1, a free port, its queue kept across restarts) and the workers."""
    data: Path = ctx.obj["data"]
    root = data / CLUSTER_DIR
    state_file = root / STATE
    if state_file.exists() and _ours(json.loads(state_file.read_text())["redis_pid"], "redis"):
        raise click.ClickException(f"a cluster runs already from {root}: 'cluster down' first")
    parse_settings(settings, known_settings())  # a bad -s is said now, not in each log
    try:
        proc, url = localredis.start(root / "redis", persist=True)
    except localredis.RedisServerError as e:
        raise click.ClickException(str(e)) from None
    state: dict[str, Any] = {"redis": url, "redis_pid": proc.pid, "workers": {}}
    for n in range(1, workers + 1):
        name = f"worker-{n}"
        args = [sys.executable, "-m", "portal_archive.cli", "--data", str(root / "workers" / name),
                "crawl", "--redis", url, *(["--fixtures", str(fixtures)] if fixtures else []),
                *(x for s in settings for x in ("-s", s))]
        (root / "workers").mkdir(parents=True, exist_ok=True)
        with open(root / "workers" / f"{name}.out", "ab") as out:
            worker = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                      start_new_session=True)
        state["workers"][name] = worker.pid
    state_file.write_text(json.dumps(state, indent=2), encoding="utf-8")
    click.echo(f"Redis at {url}, {workers} worker(s) (logs: {root / 'workers'}/*.out and "
               f"*/logs/). Queue work: portal-archive --data {data} enqueue --all")


@cluster_command.command("down", context_settings=CONTEXT_SETTINGS)
@click.pass_context
def cluster_down(ctx: click.Context) -> None:
    """Stop the workers (their portals go back in the queue), then Redis."""
    state_file = ctx.obj["data"] / CLUSTER_DIR / STATE
    if not state_file.exists():
        raise click.ClickException(f"no local cluster under {state_file.parent}")
    state = json.loads(state_file.read_text(encoding="utf-8"))
    pids = [pid for pid in state["workers"].values() if _ours(pid, "portal_archive")]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    _wait_gone(pids, 60)
    if _ours(state["redis_pid"], "redis"):
        _signal(state["redis_pid"], signal.SIGTERM)
        _wait_gone([state["redis_pid"]], 30)
    state_file.unlink()
    click.echo(f"stopped {len(pids)} worker(s) and Redis")


def _ours(pid: int, word: str) -> bool:
    """Whether ``pid`` still runs the program we started (a pid may be reused)."""
    try:
        return word in Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return not Path("/proc/self").exists() and _alive(pid)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs. A process that exited counts as gone even while no one reaps it:
    'cluster up' has exited, so its children are left to an init that may never reap them."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): signal 0 is all we can know
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _wait_gone(pids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
