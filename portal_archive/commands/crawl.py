"""``crawl`` and ``portals``: crawls fit for cron (lock, log file, exit codes, alarms), and the
registry they crawl from.

Exit codes of ``portal-archive crawl``: 0 every portal crawled and healthy; 1 some portal
failed (its home page did not answer, or its crawl stopped early); 2 usage error (click's);
3 another crawl holds the data directory's lock, nothing done; 4 an alarm was raised (alarms
win over failures: a failing portal that crossed a threshold is in alarm); 5 the archive could
not be written (disk full, read-only, I/O error: one line names the file), the crawl stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shlex
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from archive import health, runs
from archive.index import open_index
from archive.lock import LockedError, SharedRunLock
from archive.notify import alarm_message, post_json
from archive.progress import LineHandler, print_above
from archive.runs import DOWN, FORCED, SHUTDOWN, TIME_BUDGET
from crawler.distributed.cluster import Cluster, Unreachable, worker_id
from crawler.distributed.worker import work
from crawler.reading import check_cleaners_config
from crawler.registry import Portal, RegistryError, load_fixture_portals, load_registry
from crawler.registry import select as select_portals
from crawler.runner import (
    FIXTURE_SETTINGS,
    CrawlSummary,
    crawl,
    known_settings,
    project_settings,
)
from portal_archive.commands import CONTEXT_SETTINGS
from portal_archive.common import (
    cleaner_config_option,
    echo_json,
    parse_settings,
    print_table,
    terminal_safe,
)
from portal_archive.demo.server import FixtureServer

EXIT_OK, EXIT_PARTIAL, EXIT_LOCKED, EXIT_ALARM, EXIT_WRITE = 0, 1, 3, 4, 5
# What the operator is told of a crawl that did not simply finish (health.Ending.kind).
ENDING_LINES = {
    health.UNRECORDED: "error: {portal}: the crawl recorded nothing (see {log})",
    SHUTDOWN: "{portal}: interrupted; the next crawl of it resumes where this one stopped "
              "(log: {log})",
    FORCED: "{portal}: stopped at once: what it wrote is kept, pages under way and its queue "
            "are not; the next crawl of it starts afresh (log: {log})",
    health.FORBIDDEN: f"error: {{portal}}: {health.FORBIDDEN_WORDS}: nothing archived but "
                      "robots.txt (log: {log})",
    DOWN: "{portal}: down ({why}): nothing more asked of it this run; recover what it lost "
          "from web archives: {recover}",
    TIME_BUDGET: "{portal}: its time budget (PORTAL_TIME_BUDGET) is used up; the next crawl "
                 "of it goes on where this one stopped",
    health.ERROR: "error: {portal}: {why} (log: {log})",
}


class OneLine(logging.Formatter):
    """A log record as its first line alone, its traceback left to the log file."""

    def format(self, record: logging.LogRecord) -> str:
        return next(iter(record.getMessage().splitlines()), "")


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
        self.adhoc = False  # the portal was given by --url, not from the registry

    def __enter__(self) -> CrawlJob:
        try:
            self.lock.acquire()
        except LockedError as e:
            raise Locked(f"{e}: not crawling. Runs overlap: make the interval longer, "
                         "or wait for it to finish.") from e
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        # Scrapy logs to the file; errors also go to stderr, which cron mails (above the
        # progress line on a terminal, never glued to it).
        self.stderr_handler = LineHandler(sys.stderr)
        self.stderr_handler.setLevel(logging.ERROR)
        # One line per error: the log file has the tracebacks.
        self.stderr_handler.setFormatter(OneLine())
        # A log file that cannot be written (disk full) is said once, by the crawl, not on
        # every line logged.
        logging.raiseExceptions = False
        logging.getLogger().addHandler(self.stderr_handler)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self.stderr_handler)
        self.lock.release()

    def report(self, line: str) -> None:
        """An error or alarm line: on stderr (cron mails it) and at the end of the run's log.
        An alarm may quote the home page's title: no control character of it is printed."""
        line = terminal_safe(line)
        print_above(line, sys.stderr)
        with contextlib.suppress(OSError), self.log_file.open("a", encoding="utf-8") as log:
            log.write(line + "\n")

    def settings(self) -> dict[str, Any]:
        """Settings of the crawl (the user's ``-s`` overrides come after and win)."""
        return {"OPS_JOB_ID": self.id, "LOG_FILE": str(self.log_file),
                "PROGRESS_ENABLED": sys.stderr.isatty()}

    def with_full_crawls(self, portals: list[Any]) -> list[Any]:
        """Portals flagged dying get their last full crawl in this run."""
        if not (self.data_dir / "index.db").exists():
            return portals
        db = open_index(self.data_dir / "index.db")
        due = health.full_crawl_due(db)
        db.close()
        return [dataclasses.replace(p, settings={**p.settings, "OPS_FULL_CRAWL": True})
                if p.id in due else p for p in portals]

    def recover_command(self, portal: Portal) -> str:
        """The command that recovers ``portal`` from the Internet Archive's Wayback Machine."""
        data = "" if self.data_dir == Path("data") else f"--data {shlex.quote(str(self.data_dir))} "
        which = (f"--url {shlex.quote(portal.base_url)}" if self.adhoc
                 else f"--portal {shlex.quote(portal.id)}")
        return f"portal-archive {data}recover {which} --source ia"

    def conclude(self, summaries: list[CrawlSummary], portals: list[Any],
                 settings: Any) -> int:
        """The crawl's exit code, once its verdicts are recorded (``finish``); not when the
        archive could not be written: the crawl said so in one line, and the index cannot
        take the run's verdicts now."""
        if any(s.write_error for s in summaries):
            return EXIT_WRITE
        for summary in summaries:
            for line in summary.limits_reached:  # a limit may keep new articles unfound
                self.report(f"warning: {summary.portal}: {line}")
        return self.finish(portals, settings)

    def finish(self, portals: list[Any], settings: Any) -> int:
        """Record the job and its verdicts (archive/health.py), tell how each crawl ended and
        what alarms it raised, send them to the webhook; return the exit code."""
        db = open_index(self.data_dir / "index.db")
        endings, alarms = health.judge_job(db, self.id, [(p.id, p.base_url) for p in portals],
                                           settings, self.clock)
        code = (EXIT_ALARM if alarms else EXIT_PARTIAL if any(e.failed for e in endings)
                else EXIT_OK)
        runs.set_exit_status(db, self.id, code)
        db.close()
        by_id = {p.id: p for p in portals}
        for ending in endings:
            if ending.kind in ENDING_LINES:
                self.report(ENDING_LINES[ending.kind].format(
                    portal=ending.portal, why=ending.why, log=self.log_file,
                    recover=self.recover_command(by_id[ending.portal])))
        for alarm in alarms:
            self.report(f"ALARM {alarm.portal}: {alarm.kind}: {alarm.reason}")
            if alarm.dying:
                # What is gone from the portal may still be in web archives.
                self.report("  recover what it lost from web archives: portal-archive --data "
                            f"{shlex.quote(str(self.data_dir))} recover --portal "
                            f"{shlex.quote(alarm.portal)} --source ia --source cc")
        webhook = settings.get("ALARM_WEBHOOK_URL")
        if alarms and webhook:
            problem = post_json(webhook, alarm_message(self.id, self.data_dir, alarms, code))
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



def run_crawl(portals: list[Portal], data_dir: Path, overrides: dict[str, Any],
              fixtures: Path | None) -> list[CrawlSummary]:
    """Crawl ``portals`` into ``data_dir``; with ``fixtures``, through a loopback server
    playing that fixture directory."""
    with contextlib.ExitStack() as stack:
        if fixtures is not None:
            server = stack.enter_context(FixtureServer(fixtures))
            overrides = {**FIXTURE_SETTINGS, "PORTAL_PROXY": server.url, **overrides}
        return crawl(portals, project_settings(data_dir, overrides))


def run_worker(data_dir: Path, redis_url: str, overrides: dict[str, Any],
               fixtures: Path | None) -> int:
    """Be a worker of the distributed crawl at ``redis_url``; return the exit status."""
    try:
        Cluster(redis_url)  # a malformed URL is said now; an unreachable server is waited for
    except Unreachable as e:
        raise click.ClickException(str(e)) from None
    with CrawlJob(data_dir, fixtures) as job, contextlib.ExitStack() as stack:
        if fixtures is not None:
            server = stack.enter_context(FixtureServer(fixtures))
            overrides = {**FIXTURE_SETTINGS, "PORTAL_PROXY": server.url, **overrides}
        settings = project_settings(data_dir, {
            **job.settings(), "REDIS_URL": redis_url, "REDIS_WORKER_ID": worker_id(),
            **overrides})
        interrupted = work(settings)
    return EXIT_PARTIAL if interrupted else EXIT_OK


def print_summaries(summaries: list[CrawlSummary]) -> None:
    print_table(["portal", "pages", "articles", "new", "refused", "WARC bytes", "seconds"],
                ([s.portal, s.pages, s.articles, s.new, sum(s.refused.values()),
                  f"{s.warc_bytes:,}", f"{s.seconds:.1f}"] for s in summaries),
                right=range(1, 7))
    for s in summaries:
        if s.refused:
            reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(s.refused.items()))
            click.echo(f"{s.portal}: requests refused as out of scope: {reasons}")


def _overrides(settings: tuple[str, ...], cleaner_config: Path | None) -> dict[str, Any]:
    """The crawl's -s settings, with --cleaner-config, checked."""
    overrides = parse_settings(settings, known_settings())
    if cleaner_config is not None:
        overrides["CLEANERS_CONFIG"] = str(cleaner_config.resolve())
    try:
        check_cleaners_config(overrides.get("CLEANERS_CONFIG"))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--cleaner-config") from e
    return overrides


def _portals(portal_ids: tuple[str, ...], all_portals: bool, fixtures: Path | None,
             url: str | None, province: str | None, district: str | None) -> list[Portal]:
    """The portals a crawl names: of the registry (or a fixture directory), or one ad hoc."""
    if all_portals and (portal_ids or url):
        raise click.UsageError("--all crawls every enabled portal: drop --portal/--url")
    try:
        if url:
            if portal_ids or fixtures:
                raise click.UsageError("--url crawls one ad-hoc portal: drop --portal/--fixtures")
            portals = [Portal.from_url(url, province=province, district=district)]
        else:
            registry = load_fixture_portals(fixtures) if fixtures else load_registry()
            portals = select_portals(registry, portal_ids)
    except RegistryError as e:
        raise click.ClickException(str(e)) from e
    if not portals:
        raise click.ClickException("no portal to crawl")
    return portals


@click.command("crawl", context_settings=CONTEXT_SETTINGS)
@click.option("--portal", "portal_ids", multiple=True, metavar="ID",
              help="Portal id to crawl (repeatable). Default: every enabled portal.")
@click.option("--all", "all_portals", is_flag=True,
              help="Crawl every enabled portal (the default, spelled out for cron).")
@click.option("--fixtures", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Serve the portals of this fixture directory on 127.0.0.1 and crawl them.")
@click.option("--url", help="Crawl an ad-hoc portal from this base URL.")
@click.option("--province", help="With --url: the province the portal belongs to.")
@click.option("--district", help="With --url: the district the portal belongs to.")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a crawler setting (see crawler/settings.py), as scrapy -s does.")
@cleaner_config_option
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("--redis", "redis_url", metavar="URL",
              help="Work for the distributed crawl at this Redis (redis://HOST:PORT/DB): crawl "
              "the portals queued there ('portal-archive enqueue') until stopped.")
@click.option("--until-done", is_flag=True,
              help="With --redis: stop once the cluster has nothing queued or under way.")
@click.option("--portals", "at_once", type=click.IntRange(1, 256), metavar="N",
              help="With --redis: portals crawled at once (default: REDIS_WORKER_PORTALS, 4).")
@click.pass_context
def crawl_command(ctx: click.Context, portal_ids: tuple[str, ...], all_portals: bool,
                  fixtures: Path | None, url: str | None, province: str | None,
                  district: str | None, settings: tuple[str, ...], cleaner_config: Path | None,
                  as_json: bool, redis_url: str | None, until_done: bool,
                  at_once: int | None) -> None:
    """Crawl portals into the archive.

    Every request and response goes to WARC; articles go to the index. Made for cron: one crawl
    at a time per data directory, the log in DATA/logs/<run-id>.log, nothing printed but errors
    and alarms unless on a terminal. Exit status: 0 done, 1 some portal failed, 2 usage error,
    3 another crawl is running, 4 alarm (see 'portal-archive status'), 5 the archive could not
    be written (disk full).

    \b
    Example:
        portal-archive crawl --portal aluoi-tth --portal vinhbao-hp
        portal-archive crawl --fixtures portal_archive/demo/fixtures
        portal-archive crawl --url https://example.gov.vn/ --province "Hà Nội"
        portal-archive crawl --portal baonghean -s DOWNLOAD_DELAY=2
        portal-archive crawl --portal baonghean --cleaner-config strict.cfg
        portal-archive crawl --redis redis://10.0.0.5:6379/0   # a worker of a shared crawl
    """
    overrides = _overrides(settings, cleaner_config)
    if redis_url:
        if portal_ids or all_portals or url:
            raise click.UsageError("--redis takes its portals from the cluster's queue: queue "
                                   "them with 'portal-archive enqueue', drop --portal/--all/--url")
        if at_once:
            overrides["REDIS_WORKER_PORTALS"] = at_once
        if until_done:
            overrides["REDIS_UNTIL_DONE"] = True
        ctx.exit(run_worker(ctx.obj["data"], redis_url, overrides, fixtures))
    if until_done or at_once:
        raise click.UsageError("--until-done and --portals go with --redis")
    portals = _portals(portal_ids, all_portals, fixtures, url, province, district)
    with CrawlJob(ctx.obj["data"], fixtures) as job:
        job.adhoc = bool(url)
        overrides = {**job.settings(), **overrides}
        portals = job.with_full_crawls(portals)
        summaries = run_crawl(portals, ctx.obj["data"], overrides, fixtures)
        exit_code = job.conclude(summaries, portals,
                                 project_settings(ctx.obj["data"], overrides))
    if as_json:
        echo_json([asdict(s) for s in summaries])
    elif sys.stdout.isatty():
        print_summaries(summaries)
    ctx.exit(exit_code)


@click.command("portals", context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print the registry as JSON.")
def portals_command(as_json: bool) -> None:
    """List the portals of the registry (crawler/portals.toml).

    \b
    Example:
        portal-archive portals
        portal-archive portals --json | jq '.[].id'
    """
    try:
        registry = load_registry()
    except RegistryError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        echo_json([p.to_dict() for p in registry.values()])
        return
    for p in registry.values():
        unit = ", ".join(x for x in (p.district, p.province) if x)
        flag = "  (dead: recover only)" if p.status == "dead" else ""
        flag += "" if p.enabled else "  (disabled)"
        flag += "" if p.checked else "  (not checked against the live site)"
        click.echo(f"{p.id:<20} {p.base_url:<45} {unit}{flag}")
