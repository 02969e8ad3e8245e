"""``status`` and ``cron``: how each portal is doing, and the crontab line that keeps
crawling them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from archive import health, runs
from crawler.distributed.cluster import Cluster, Unreachable, safe_url
from portal_archive.commands import CONTEXT_SETTINGS
from portal_archive.common import echo_json, print_table
from portal_archive.opening import open_existing_index

# -- status ----------------------------------------------------------------------------------

WORKER_SILENCE = 15.0  # seconds without a heartbeat (one a second) before a worker counts as gone

@click.command("status", context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--redis", "redis_url", metavar="URL", envvar="PORTAL_ARCHIVE_REDIS",
              help="Also show the distributed crawl at this Redis (redis://HOST:PORT/DB): "
              "workers alive, queue, portals under way. Env: PORTAL_ARCHIVE_REDIS; default: "
              "the data directory's local cluster, if one runs.")
@click.pass_context
def status_command(ctx: click.Context, as_json: bool, redis_url: str | None) -> None:
    """Per portal: last run, articles archived, recent new articles, error rate, health.

    New articles and the error rate (failed fetches per page) cover the last 5 runs. Health is
    OK or ALARM with the reason, as judged after the last crawl. The sources column says what
    came from where: captures/articles by source (live for our crawl; ia, cc or another
    archive's name for what 'recover' copied).

    With a distributed crawl (--redis), the cluster comes first: each worker (alive while its
    heartbeat is recent), its portals and pages per minute; the queue; each portal under way
    with its worker (none: its worker died, another takes it when the lease runs out), its
    requests queued, under way and seen. --json then prints {"cluster": ..., "portals": ...}.

    \b
    Example:
        portal-archive status
        portal-archive --data /srv/archive status --json | jq '.[] | select(.health=="alarm")'
        portal-archive status --redis redis://10.0.0.5:6379/0
    """
    data: Path = ctx.obj["data"]
    cluster = cluster_status(data, redis_url)
    if cluster is not None and not (data / "index.db").exists():
        rows: list[dict[str, Any]] = []
    else:
        with open_existing_index(data) as db:  # closed: the command may run in-process
            rows = [health.portal_status(db, p) for p in runs.archived_portals(db)]
    if as_json:
        echo_json(rows if cluster is None else {"cluster": cluster, "portals": rows})
        return
    if cluster is not None:
        print_cluster(cluster)
        if not rows:
            return
        click.echo()
    if not rows:
        click.echo("no crawl recorded yet: run 'portal-archive crawl'")
        return
    print_table(["portal", "last run", "result", "articles", f"new({health.RECENT_RUNS})",
                 "errors", "sources", "health"], map(status_cells, rows), right=(3, 4, 5))


def cluster_status(data: Path, redis_url: str | None) -> dict[str, Any] | None:
    """The distributed crawl's state, if one is named (or runs locally); None if not."""
    local = data / "cluster" / "cluster.json"
    if not redis_url and not local.exists():
        return None
    url = redis_url or json.loads(local.read_text(encoding="utf-8"))["redis"]
    try:
        snapshot = Cluster(url).snapshot()
    except Unreachable as e:
        raise click.ClickException(str(e)) from None
    now = time.time()
    for worker in snapshot["workers"]:
        worker["alive"] = (now - worker["last_beat"] < WORKER_SILENCE
                           and worker.get("state") != "stopped")
    return {"redis": safe_url(url), **snapshot}


def print_cluster(cluster: dict[str, Any]) -> None:
    alive = [w for w in cluster["workers"] if w["alive"]]
    click.echo(f"cluster {cluster['redis']}: {len(alive)} worker(s) alive, "
               f"{cluster['queue']} portal(s) queued, {len(cluster['portals'])} under way, "
               f"{cluster['done']} done")
    if cluster["workers"]:
        now = time.time()
        print_table(["worker", "state", "portals", "pages/min", "pages", "last heartbeat"], (
            [w["id"], w.get("state", "?") if w["alive"] or w.get("state") == "stopped" else "gone",
             ", ".join(w.get("portals") or []) or "-", f"{w.get('pages_per_minute', 0):.0f}",
             str(w.get("pages", 0)), f"{now - w['last_beat']:.0f} s ago"]
            for w in cluster["workers"]), right=(3, 4))
    if cluster["portals"]:
        click.echo()
        print_table(["under way", "worker", "attempts", "queued", "in flight", "seen"], (
            [p["portal"], p["worker"] or "(none: lease ran out)", str(p["attempts"]),
             str(p["queued"]), str(p["in_flight"]), str(p["seen"])]
            for p in cluster["portals"]), right=(2, 3, 4, 5))
    if cluster["next"]:
        click.echo(f"\nnext in the queue: {', '.join(cluster['next'])}"
                   + (" ..." if cluster["queue"] > len(cluster["next"]) else ""))


def status_cells(status: dict[str, Any]) -> list[str]:
    last = status["last_run"] or {}
    rate = "-" if status["error_rate"] is None else f"{status['error_rate']:.0%}"
    verdict = "OK" if status["health"] == "ok" else status["health"].upper()
    reasons = "; ".join(f"{a['kind']}: {a['reason']}" for a in status["alarms"])
    due = " [full crawl due]" if status["full_crawl_due"] else ""
    return [status["portal"], (last.get("started") or "-")[:19], last.get("result") or "-",
            str(status["articles"]), str(status["new_in_recent_runs"]), rate,
            ", ".join(f"{name} {n['captures']}/{n['articles']}"
                      for name, n in status["sources"].items()),
            f"{verdict}{' - ' + reasons if reasons else ''}{due}"]


# -- cron ------------------------------------------------------------------------------------

MARKER = "# portal-archive crawl, data:"
EVERY = re.compile(r"^(\d+)([mhd])$")


def schedule(every: str) -> str:
    """The crontab time fields for ``30m``, ``6h``, ``1d``... (minute 17, off the busy hour)."""
    match = EVERY.match(every.strip().lower())
    if not match or int(match[1]) == 0:
        raise click.BadParameter(f"{every!r}: give minutes, hours or days, e.g. 30m, 6h, 1d",
                                 param_hint="--every")
    n, unit = int(match[1]), match[2]
    limit = {"m": 59, "h": 23, "d": 31}[unit]
    if n > limit:
        raise click.BadParameter(f"{every!r}: at most {limit}{unit}", param_hint="--every")
    step = "*" if n == 1 else f"*/{n}"
    return {"m": f"{step} * * * *", "h": f"17 {step} * * *", "d": f"17 3 {step} * *"}[unit]


def cron_line(every: str, data_dir: Path, program: str, webhook: str | None = None) -> str:
    # The crawl takes the data directory's lock itself (an overlapping run exits with 3) and
    # writes its full log to DATA/logs/; cron mails what it prints: errors and alarms only.
    return (f"{schedule(every)} {_cron_env(data_dir, program)} crawl --all"
            f"{' -s ' + quote('ALARM_WEBHOOK_URL=' + webhook) if webhook else ''} {MARKER} "
            f"{data_dir.resolve()}")


RECOVER_MARKER = "# portal-archive recover dead portals, data:"


def recover_cron_line(data_dir: Path, program: str) -> str:
    """Weekly (Sunday 04:17): recover from web archives every portal found dead since."""
    return (f"17 4 * * 0 {_cron_env(data_dir, program)} recover --dead --source ia "
            f"--source cc {RECOVER_MARKER} {data_dir.resolve()}")


def _cron_env(data_dir: Path, program: str) -> str:
    """The program with absolute paths and this data directory, as cron must run it."""
    path = os.pathsep.join(dict.fromkeys([str(Path(program).parent), "/usr/local/bin",
                                          "/usr/bin", "/bin"]))
    return (f"env PORTAL_ARCHIVE_DATA={quote(str(data_dir.resolve()))} PATH={quote(path)} "
            f"{quote(program)}")


def quote(text: str) -> str:
    # cron reads % as a line break: escaped, the shell gets it back as a plain %.
    if not re.fullmatch(r"[\w@+=:,./-]+", text):
        text = "'" + text.replace("'", "'\\''") + "'"
    return text.replace("%", "\\%")


def installed_program() -> str:
    """Absolute path of the ``portal-archive`` program of this installation."""
    beside = Path(sys.executable).with_name("portal-archive")
    if beside.exists():
        return str(beside)
    found = shutil.which("portal-archive")
    if found:
        return str(Path(found).resolve())
    raise click.ClickException("cannot find the installed 'portal-archive' program: "
                               "install the project (pip install -e .) first")


def crontab_command() -> list[str]:
    program = os.environ.get("PORTAL_ARCHIVE_CRONTAB", "crontab")
    if not shutil.which(program):
        raise click.ClickException(
            f"no {program!r} program: install cron (apt-get install -y cron), or print the "
            "line without --install and add it to your scheduler by hand")
    return [program]


def read_crontab() -> list[str]:
    proc = subprocess.run([*crontab_command(), "-l"], capture_output=True, text=True)
    if proc.returncode != 0:
        if "no crontab" in proc.stderr.lower():
            return []
        raise click.ClickException(f"crontab -l failed: {proc.stderr.strip()}")
    return proc.stdout.splitlines()


def write_crontab(lines: list[str]) -> None:
    proc = subprocess.run([*crontab_command(), "-"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise click.ClickException(f"crontab - failed: {proc.stderr.strip()}")


@click.command("cron", context_settings=CONTEXT_SETTINGS)
@click.option("--every", default="6h", show_default=True, metavar="INTERVAL",
              help="How often to crawl: 30m, 6h, 1d...")
@click.option("--webhook", metavar="URL", help="Also POST alarms as JSON to this URL.")
@click.option("--install", is_flag=True,
              help="Add the line to your crontab (replacing our earlier line for this data "
                   "directory; other lines are left alone).")
@click.option("--recover-dead", is_flag=True,
              help="Also a weekly line that recovers every dead portal (status = \"dead\" "
                   "in the registry, or in a liveness alarm) from web archives.")
@click.pass_context
def cron_command(ctx: click.Context, every: str, webhook: str | None, install: bool,
                 recover_dead: bool) -> None:
    """Print (or install) the crontab line that crawls every enabled portal on a schedule.

    The line runs 'crawl --all' with absolute paths and this data directory. Overlapping runs
    are safe: the second one exits with status 3. Each run logs to DATA/logs/<run-id>.log;
    cron mails what the crawl prints, which is only errors and alarms. The crontab program is
    'crontab', or the one named by PORTAL_ARCHIVE_CRONTAB.

    \b
    Example:
        portal-archive cron
        portal-archive --data /srv/archive cron --every 12h --install
        portal-archive cron --webhook https://hooks.example.org/portal-archive --install
    """
    data_dir: Path = ctx.obj["data"]
    program = installed_program()
    ours = [cron_line(every, data_dir, program, webhook)]
    if recover_dead:
        ours.append(recover_cron_line(data_dir, program))
    if not install:
        click.echo("\n".join(ours))
        return
    markers = tuple(f"{m} {data_dir.resolve()}" for m in (MARKER, RECOVER_MARKER))
    lines = [x for x in read_crontab() if not x.rstrip().endswith(markers)]
    write_crontab([*lines, *ours])
    click.echo("installed in your crontab:\n" + "\n".join(ours))
