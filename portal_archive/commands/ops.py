"""Operations: crawls fit for cron (lock, log file, exit codes, alarms), ``status`` and ``cron``.

Exit codes of ``portal-archive crawl``: 0 every portal crawled and healthy; 1 some portal
failed (its home page did not answer, or its crawl stopped early); 2 usage error (click's);
3 another crawl holds the data directory's lock, nothing done; 4 an alarm was raised (alarms
win over failures: a failing portal that crossed a threshold is in alarm).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from archive import health, runs
from archive.lock import LockedError, SharedRunLock

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
EXIT_OK, EXIT_PARTIAL, EXIT_LOCKED, EXIT_ALARM = 0, 1, 3, 4
RECENT_RUNS = 5  # runs the status command sums new articles and errors over


class Locked(click.ClickException):
    exit_code = EXIT_LOCKED


class CrawlJob:
    """One ``portal-archive crawl`` invocation: lock, log file, then verdicts and exit code."""

    def __init__(self, data_dir: Path, fixtures: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        # A simulated portal is frozen at the moment its copy was made: silence counts from it.
        self.clock = fixture_clock(fixtures) if fixtures else {}
        self.id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}"
        self.log_file = self.data_dir / "logs" / f"{self.id}.log"
        # Shared with the crawl of each portal, which takes the lock again (one flock per process).
        self.lock = SharedRunLock(self.data_dir)

    def __enter__(self) -> CrawlJob:
        try:
            self.lock.acquire()
        except LockedError as e:
            raise Locked(f"{e}: not crawling. Runs overlap: make the interval longer, "
                         "or wait for it to finish.") from e
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        # Scrapy logs to the file; errors also go to stderr, which cron mails.
        self.stderr_handler = logging.StreamHandler(sys.stderr)
        self.stderr_handler.setLevel(logging.ERROR)
        logging.getLogger().addHandler(self.stderr_handler)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self.stderr_handler)
        self.lock.release()

    def report(self, line: str) -> None:
        """An error or alarm line: on stderr (cron mails it) and at the end of the run's log."""
        click.echo(line, err=True)
        with self.log_file.open("a", encoding="utf-8") as log:
            log.write(line + "\n")

    def settings(self) -> dict[str, Any]:
        """Settings of the crawl (the user's ``-s`` overrides come after and win)."""
        return {"OPS_JOB_ID": self.id, "LOG_FILE": str(self.log_file),
                "PROGRESS_ENABLED": sys.stderr.isatty()}

    def with_full_crawls(self, portals: list[Any]) -> list[Any]:
        """Portals flagged dying get their last full crawl in this run."""
        if not (self.data_dir / "index.db").exists():
            return portals
        from archive.index import open_index

        db = open_index(self.data_dir / "index.db")
        due = health.full_crawl_due(db)
        db.close()
        return [dataclasses.replace(p, settings={**p.settings, "OPS_FULL_CRAWL": True})
                if p.id in due else p for p in portals]

    def finish(self, portals: list[Any], settings: Any) -> int:
        """Record the job, judge every portal's health, report alarms; return the exit code."""
        from archive.index import open_index
        from archive.notify import post_json

        db = open_index(self.data_dir / "index.db")
        job_runs = {r["portals"]: r for r in runs.summarize_job(db, self.id)}
        limits = health.Thresholds.from_settings(settings)
        fixed = settings.get("HEALTH_NOW")
        fixed = datetime.fromisoformat(fixed).replace(tzinfo=UTC) if fixed else None
        alarms: list[health.Alarm] = []
        failed = False
        for portal in portals:
            run = job_runs.get(portal.id)
            if run is None:
                self.report(f"error: {portal.id}: the crawl recorded nothing "
                            f"(see {self.log_file})")
                failed = True
                continue
            if run["status"] == "shutdown":
                # Half a crawl says nothing about the portal's health: judge the whole one.
                failed = True
                self.report(f"{portal.id}: interrupted; the next crawl of it resumes where this "
                            f"one stopped (log: {self.log_file})")
                continue
            now = fixed or self.clock.get(portal.id) or datetime.now(UTC)
            found = health.evaluate(db, portal.id, portal.base_url, now=now, thresholds=limits)
            health.record(db, portal.id, found, ran_full=bool(run["full"]))
            alarms += found
            down = health.home_down(run)
            if down or run["status"] != "finished":
                failed = True
                self.report(f"error: {portal.id}: {down or 'crawl ended: ' + run['status']} "
                            f"(log: {self.log_file})")
        for alarm in alarms:
            self.report(f"ALARM {alarm.portal}: {alarm.kind}: {alarm.reason}")
        code = EXIT_ALARM if alarms else EXIT_PARTIAL if failed else EXIT_OK
        runs.set_exit_status(db, self.id, code)
        db.close()
        webhook = settings.get("ALARM_WEBHOOK_URL")
        if alarms and webhook:
            problem = post_json(webhook, {
                "source": "portal-archive", "job": self.id, "data": str(self.data_dir.resolve()),
                "alarms": [a.to_dict() for a in alarms], "exit_status": code,
                # Chat webhooks (Slack, Mattermost, Google Chat) show ``text``.
                "text": "\n".join(f"portal-archive ALARM {a.portal}: {a.kind}: {a.reason}"
                                  for a in alarms),
            })
            if problem:
                self.report(f"error: {problem}")
        return code


def fixture_clock(root: Path) -> dict[str, datetime]:
    """The ``crawl_time`` of each portal of a fixture directory."""
    clock = {}
    index = json.loads((Path(root) / "index.json").read_text(encoding="utf-8"))
    for item in index.get("portals", []):
        manifest = json.loads((Path(root) / item["manifest"]).read_text(encoding="utf-8"))
        if manifest.get("crawl_time"):
            clock[item["portal_id"]] = datetime.fromisoformat(manifest["crawl_time"])
    return clock


# -- status ----------------------------------------------------------------------------------

def run_result(run: dict[str, Any]) -> str:
    """``ok``, ``failed`` (the home page did not answer) or how Scrapy ended the crawl."""
    if health.home_down(run):
        return "failed"
    return "ok" if run["status"] == "finished" else run["status"]


def portal_status(db: Any, portal: str) -> dict[str, Any]:
    history = runs.portal_history(db, portal, RECENT_RUNS)
    last = history[0] if history else None
    verdict = next(db.query("select * from portal_health where portal = ?", [portal]), None)
    pages = sum(r["pages"] or 0 for r in history)
    errors = sum(runs.failures(json.loads(r["errors"] or "{}")) for r in history)
    return {
        "portal": portal,
        "last_run": last and {"job": last["job"], "started": last["started"],
                              "ended": last["ended"], "status": last["status"],
                              "result": run_result(last), "pages": last["pages"],
                              "new": last["new"], "errors": json.loads(last["errors"] or "{}")},
        "articles": db.execute("select count(*) from articles where portal = ?",
                               [portal]).fetchone()[0],
        "recent_runs": len(history),
        "new_in_recent_runs": sum(r["new"] or 0 for r in history),
        "error_rate": round(errors / pages, 3) if pages else None,
        "health": verdict["state"] if verdict else "unknown",
        "alarms": json.loads(verdict["alarms"]) if verdict else [],
        "full_crawl_due": bool(verdict and verdict["full_crawl_due"]),
    }


@click.command("status", context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status_command(ctx: click.Context, as_json: bool) -> None:
    """Per portal: last run, articles archived, recent new articles, error rate, health.

    New articles and the error rate (failed fetches per page) cover the last 5 runs. Health is
    OK or ALARM with the reason, as judged after the last crawl.

    \b
    Example:
        portal-archive status
        portal-archive --data /srv/archive status --json | jq '.[] | select(.health=="alarm")'
    """
    from portal_archive.cli import open_existing_index

    db = open_existing_index(ctx.obj["data"])
    rows = [portal_status(db, p) for p in runs.crawled_portals(db)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no crawl recorded yet: run 'portal-archive crawl'")
        return
    header = (f"{'portal':<20} {'last run':<20} {'result':<9} {'articles':>8} "
              f"{'new(5)':>6} {'errors':>6}  health")
    click.echo(header)
    click.echo("-" * len(header))
    for r in rows:
        last = r["last_run"] or {}
        rate = "-" if r["error_rate"] is None else f"{r['error_rate']:.0%}"
        verdict = "OK" if r["health"] == "ok" else r["health"].upper()
        reasons = "; ".join(f"{a['kind']}: {a['reason']}" for a in r["alarms"])
        due = " [full crawl due]" if r["full_crawl_due"] else ""
        click.echo(f"{r['portal']:<20} {(last.get('started') or '-')[:19]:<20} "
                   f"{last.get('result') or '-':<9} {r['articles']:>8} "
                   f"{r['new_in_recent_runs']:>6} {rate:>6}  {verdict}"
                   f"{' - ' + reasons if reasons else ''}{due}")


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
    data = str(data_dir.resolve())
    path = os.pathsep.join(dict.fromkeys([str(Path(program).parent), "/usr/local/bin",
                                          "/usr/bin", "/bin"]))
    # The crawl takes the data directory's lock itself (an overlapping run exits with 3) and
    # writes its full log to DATA/logs/; cron mails what it prints: errors and alarms only.
    return (f"{schedule(every)} env PORTAL_ARCHIVE_DATA={quote(data)} PATH={quote(path)} "
            f"{quote(program)} crawl --all"
            f"{' -s ' + quote('ALARM_WEBHOOK_URL=' + webhook) if webhook else ''} {MARKER} {data}")


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
@click.pass_context
def cron_command(ctx: click.Context, every: str, webhook: str | None, install: bool) -> None:
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
    line = cron_line(every, data_dir, installed_program(), webhook)
    if not install:
        click.echo(line)
        return
    marker = f"{MARKER} {data_dir.resolve()}"
    lines = [x for x in read_crontab() if not x.rstrip().endswith(marker)]
    write_crontab([*lines, line])
    click.echo(f"installed in your crontab:\n{line}")
