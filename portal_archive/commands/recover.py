"""``recover`` and ``discover``: dead portals' captures from web archives, and the hosts a
province's domains had."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from archive.index import open_index
from archive.lock import LockedError
from archive.recover import Recoverer, SourceError, build, discover
from archive.recover.fetch import Fetcher
from archive.recover.job import crawl_endpoints
from archive.recover.sources import COMMONCRAWL
from archive.recover.sources import DEFAULTS as SOURCE_SETTINGS
from crawler.distributed import recovery
from crawler.distributed.cluster import Cluster, Unreachable, worker_id
from crawler.registry import REGISTRY_FILE, Portal, RegistryError, load_registry
from portal_archive.commands import CONTEXT_SETTINGS
from portal_archive.common import parse_settings

EXIT_OK, EXIT_PARTIAL, EXIT_LOCKED = 0, 1, 3


def _sources(names: tuple[str, ...], cdx: str | None, replay: str | None, name: str | None,
             settings: dict[str, Any]) -> list[Any]:
    try:
        found = [build(n, settings) for n in dict.fromkeys(names)]
        if cdx or replay:
            if not (cdx and replay):
                raise SourceError("give an archive as --cdx URL (its CDX API) and --replay "
                                  "URL (where TIMESTAMPid_/URL serves a raw capture)")
            found.append(build(name or urlsplit(cdx).hostname or "archive", settings,
                               cdx=cdx, replay=replay))
    except SourceError as e:
        raise click.UsageError(str(e)) from None
    if not found:
        raise click.UsageError("give a source: --source ia, --source cc, or --cdx URL "
                               "--replay URL")
    return found


def _portals(portal_ids: tuple[str, ...], url: str | None, province: str | None,
             district: str | None, dead: bool, registry: Path | None, data: Path) -> list[Any]:
    try:
        if url:
            if portal_ids or dead:
                raise click.UsageError("--url recovers one ad-hoc portal: drop --portal/--dead")
            host = urlsplit(url).hostname or "portal"
            return [Portal(id=host, base_url=url, province=province, district=district)]
        known = load_registry(registry)
        unknown = [i for i in portal_ids if i not in known]
        if unknown:
            raise click.UsageError(f"unknown portal id: {', '.join(unknown)}")
        chosen = [known[i] for i in portal_ids]
        if dead:
            dying = _dying(data)
            chosen += [p for p in known.values()
                       if (p.status == "dead" or p.id in dying) and p not in chosen]
    except RegistryError as e:
        raise click.ClickException(str(e)) from None
    if not chosen:
        raise click.UsageError("give --portal ID, --url BASE_URL or --dead")
    return chosen


def dead_or_named(portal_ids: tuple[str, ...], data: Path) -> list[Any]:
    """The registry's portals named, or else its dead ones and those in a liveness alarm in
    ``data`` (``enqueue --recover``, as ``recover --dead`` chooses them)."""
    return _portals(portal_ids, None, None, None, not portal_ids, None, data)


def _dying(data: Path) -> set[str]:
    """Portals whose last verdict holds a liveness alarm (archive/health.py)."""
    if not (data / "index.db").exists():
        return set()
    db = open_index(data / "index.db")
    rows = db.query("select portal, alarms from portal_health")
    found = {r["portal"] for r in rows
             if any(a.get("kind") == "liveness" for a in json.loads(r["alarms"] or "[]"))}
    db.close()
    return found


@click.command("recover", context_settings=CONTEXT_SETTINGS)
@click.option("--portal", "portal_ids", multiple=True, metavar="ID",
              help="Portal of the registry to recover (repeatable).")
@click.option("--url", help="Recover an ad-hoc portal from this base URL.")
@click.option("--province", help="With --url: the province the portal belonged to.")
@click.option("--district", help="With --url: the district the portal belonged to.")
@click.option("--dead", is_flag=True, help="Every portal of the registry with status = "
              "\"dead\", and every one in a liveness alarm (see 'status').")
@click.option("--registry", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read portals from this registry file instead of the shipped one.")
@click.option("--source", "source_names", multiple=True, type=click.Choice(["ia", "cc"]),
              help="ia: the Internet Archive's Wayback Machine; cc: Common Crawl "
                   "(repeatable).")
@click.option("--cdx", metavar="URL", help="CDX API of another Wayback/pywb-compatible "
              "archive, e.g. https://archive.example.org/coll/cdx.")
@click.option("--replay", metavar="URL", help="With --cdx: the prefix under which "
              "TIMESTAMPid_/URL serves a raw capture, e.g. https://archive.example.org/coll/.")
@click.option("--name", help="With --cdx: the source name recorded (default: its host).")
@click.option("--from", "since", metavar="DATE", help="Captures made on or after YYYY[-MM[-DD]].")
@click.option("--to", "until", metavar="DATE", help="Captures made on or before YYYY[-MM[-DD]].")
@click.option("--limit", type=click.IntRange(min=0), help="Fetch at most N captures per "
              "source and portal.")
@click.option("--dry-run", is_flag=True, help="Only list what would be fetched, by page type "
              "and year.")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a RECOVER_* setting (rates, retries; see the README).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--redis", "redis_url", metavar="URL",
              help="Run the recovery jobs of the distributed crawl at this Redis ('enqueue "
              "--recover'), one at a time in the whole cluster, instead of --portal/--dead.")
@click.option("--until-done", is_flag=True,
              help="With --redis: stop once no recovery job is queued or under way.")
@click.pass_context
def recover_command(ctx: click.Context, portal_ids: tuple[str, ...], url: str | None,
                    province: str | None, district: str | None, dead: bool,
                    registry: Path | None, source_names: tuple[str, ...], cdx: str | None,
                    replay: str | None, name: str | None, since: str | None,
                    until: str | None, limit: int | None, dry_run: bool,
                    settings: tuple[str, ...], as_json: bool, redis_url: str | None,
                    until_done: bool) -> None:
    """Recover dead portals' pages and documents from web archives into the archive.

    Each distinct version of a page is fetched once, politely (a rate limit per source),
    written to WARC as faithfully as the archive allows, with a metadata record naming its
    source, and its article extracted and indexed as a crawl's would be. A second run fetches
    only captures not recovered yet; an interrupted one resumes. Exit status: 0 done, 1 some
    capture or source failed, 2 usage error, 3 a crawl holds the data directory's lock.

    \b
    Example:
        portal-archive recover --portal aluoi-tth --source ia --source cc --dry-run
        portal-archive recover --portal aluoi-tth --source ia --from 2015 --to 2025
        portal-archive recover --url https://namdong.hue.gov.vn/ --source cc
        portal-archive recover --dead --source ia
        portal-archive recover --portal X --cdx https://a.example/c/cdx --replay https://a.example/c/
    """
    overrides = parse_settings(settings, SOURCE_SETTINGS)
    sources = _sources(source_names, cdx, replay, name, overrides)
    data: Path = ctx.obj["data"]
    if redis_url:
        if portal_ids or url or dead or dry_run:
            raise click.UsageError("--redis takes its portals from the cluster's recovery "
                                   "queue ('enqueue --recover'): drop --portal/--url/--dead")
        ctx.exit(_recovery_worker(data, redis_url, sources, overrides, since, until, limit,
                                  until_done))
    if until_done:
        raise click.UsageError("--until-done goes with --redis")
    portals = _portals(portal_ids, url, province, district, dead, registry, data)
    terminal = sys.stderr.isatty()
    results = []
    fetchers: dict[str, Any] = {}  # one per source for all portals: its rate limit holds
    for portal in portals:
        job = Recoverer(data, portal.to_dict(), overrides, since=since, until=until,
                        limit=limit, progress=(lambda m: click.echo(m, err=True))
                        if terminal or dry_run else None, fetchers=fetchers)
        try:
            results.append(job.run(sources, dry_run=dry_run))
        except LockedError as e:
            click.echo(f"error: {e}: not recovering; try again when the crawl has finished",
                       err=True)
            ctx.exit(EXIT_LOCKED)
    for fetcher in fetchers.values():
        fetcher.close()
    failed = _report_failures(results)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=2))
    else:
        _print(results, dry_run)
    ctx.exit(EXIT_PARTIAL if failed else EXIT_OK)


def _report_failures(results: list[Any]) -> bool:
    """One line per source given up or with captures not fetched; True if there was one."""
    failed = False
    for result in results:
        for s in result.sources:
            if s.given_up:
                failed = True
                click.echo(f"error: {result.portal}: {s.source} given up: {s.given_up}",
                           err=True)
            elif s.failed:
                failed = True
                click.echo(f"error: {result.portal}: {s.source}: {s.failed} captures could "
                           "not be fetched (the next run tries them again)", err=True)
    return failed


def _recovery_worker(data: Path, redis_url: str, sources: list[Any], overrides: dict[str, Any],
                     since: str | None, until: str | None, limit: int | None,
                     until_done: bool) -> int:
    """Run the cluster's recovery jobs into ``data``; the exit status."""
    logging.basicConfig(level=logging.ERROR, format="%(message)s")  # errors, one line each
    try:
        cluster = Cluster(redis_url, wait=True)
    except Unreachable as e:
        raise click.ClickException(str(e)) from None
    fetchers: dict[str, Any] = {}  # one per source for every job: its rate limit holds
    failed = False

    def run(portal: dict[str, Any]) -> None:
        nonlocal failed
        job = Recoverer(data, portal, overrides, since=since, until=until, limit=limit,
                        fetchers=fetchers)
        for s in job.run(sources).sources:
            if s.given_up or s.failed:
                failed = True
                click.echo(f"error: {portal['id']}: {s.source}: "
                           f"{s.given_up or f'{s.failed} captures could not be fetched'}",
                           err=True)

    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # stop after the job under way
        signal.signal(signum, lambda *_: stopped.set())
    try:
        recovery.work(cluster, worker_id(), run, ttl=float(overrides.get(
            "REDIS_LEASE_TIMEOUT", 60)), until_done=until_done, stopped=stopped)
    except LockedError as e:
        click.echo(f"error: {e}: not recovering", err=True)
        return EXIT_LOCKED
    finally:
        for fetcher in fetchers.values():
            fetcher.close()
    return EXIT_PARTIAL if failed or stopped.is_set() else EXIT_OK


def _print(results: list[Any], dry_run: bool) -> None:
    if dry_run:
        for result in results:
            for s in result.sources:
                total = sum(sum(years.values()) for years in s.plan.values())
                click.echo(f"{result.portal} from {s.source}: {total} captures to fetch "
                           f"({s.known} recovered before)")
                for kind, years in sorted(s.plan.items()):
                    counts = ", ".join(f"{y}: {n}" for y, n in sorted(years.items()))
                    click.echo(f"  {kind:<10} {counts}")
        return
    header = (f"{'portal':<20} {'source':<8} {'listed':>6} {'new':>5} {'fetched':>7} "
              f"{'revisits':>8} {'failed':>6} {'requests':>8} {'seconds':>7}")
    click.echo(header)
    click.echo("-" * len(header))
    for result in results:
        for s in result.sources:
            click.echo(f"{result.portal:<20} {s.source:<8} {s.wanted:>6} "
                       f"{s.wanted - s.known:>5} {s.fetched:>7} {s.revisits:>8} "
                       f"{s.failed:>6} {s.requests:>8} {s.seconds:>7.1f}")
        a = result.articles
        click.echo(f"{result.portal:<20} articles: {a.get('new', 0)} new, "
                   f"{a.get('changed', 0)} changed, {a.get('unchanged', 0)} unchanged")


@click.command("discover", context_settings=CONTEXT_SETTINGS)
@click.option("--province", help="Province (pre- or post-2025 name): its government domains.")
@click.option("--domain", "domains", multiple=True, metavar="DOMAIN",
              help="A domain to look under (repeatable), e.g. hue.gov.vn.")
@click.option("--source", "source_names", multiple=True, type=click.Choice(["ia", "cc"]),
              help="Archives to ask (default: ia).")
@click.option("--cdx", metavar="URL", help="CDX API of another Wayback/pywb-compatible archive.")
@click.option("--offline", is_flag=True, help="Do not check whether each host answers now.")
@click.option("--write", "write_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Append the hosts not in the registry as [[portal]] entries to this "
                   "registry file of yours (never the shipped one).")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="Override a RECOVER_* setting.")
@click.option("--json", "as_json", is_flag=True, help="Print the hosts as JSON.")
def discover_command(province: str | None, domains: tuple[str, ...],
                     source_names: tuple[str, ...], cdx: str | None, offline: bool,
                     write_to: Path | None, settings: tuple[str, ...], as_json: bool) -> None:
    """List the hosts web archives hold under a province's government domains.

    Each host comes with its first and last capture, its capture count, the pre-2025 district
    its name spells (from vietnamadminunits) and, unless --offline, whether it answers now.

    \b
    Example:
        portal-archive discover --province "Thừa Thiên Huế" --offline
        portal-archive discover --domain hue.gov.vn --source cc --write my-portals.toml
        portal-archive recover --registry my-portals.toml --portal aluoi-hue-gov-vn --source ia
    """
    overrides = parse_settings(settings, SOURCE_SETTINGS)
    targets = _discover_targets(province, domains)
    if write_to and write_to.resolve() == REGISTRY_FILE.resolve():
        raise click.UsageError("--write: not the shipped registry; give a file of your own")
    rows = sorted(_discover_hosts(_discover_sources(source_names, cdx, overrides), targets,
                                  {**SOURCE_SETTINGS, **overrides}).values(),
                  key=lambda h: h.host)
    if not offline:
        for host in rows:
            host.answers = _answers(host.host)
    if write_to:
        _write_entries(write_to, rows, targets)
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in rows], ensure_ascii=False, indent=2))
        return
    click.echo(f"{'host':<40} {'first':<10} {'last':<10} {'captures':>8}  "
               f"{'answers':<7} district")
    for h in rows:
        answers = "-" if h.answers is None else ("yes" if h.answers else "no")
        click.echo(f"{h.host:<40} {h.first:<10} {h.last:<10} {h.captures:>8}  {answers:<7} "
                   f"{h.district or ''}")


def _discover_targets(province: str | None,
                      domains: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """(domain, province) pairs to look under: the domains given, else the province's."""
    if not province and not domains:
        raise click.UsageError("give --province NAME or --domain DOMAIN")
    if domains:
        return [(d.lower().removeprefix("www."), province) for d in domains]
    targets = discover.province_domains(province or "")
    if not targets:
        raise click.UsageError(f"unknown province {province!r}: see "
                               "archive/provinces.toml, or give --domain")
    return list(targets)


def _discover_sources(source_names: tuple[str, ...], cdx: str | None,
                      overrides: dict[str, Any]) -> list[Any]:
    """The archives to ask: those named (ia by default), and the --cdx one."""
    try:
        sources = [build(n, overrides) for n in source_names or (() if cdx else ("ia",))]
    except SourceError as e:
        raise click.UsageError(str(e)) from None
    if cdx:
        sources.append(build(urlsplit(cdx).hostname or "archive", overrides, cdx=cdx))
    return sources


def _discover_hosts(sources: list[Any], targets: list[tuple[str, str | None]],
                    settings: dict[str, Any]) -> dict[str, Any]:
    """Every host the ``sources`` list under the ``targets``, with its district when its
    name spells one; a source that fails is an error line."""
    found: dict[str, Any] = {}
    for source in sources:
        fetcher = Fetcher.for_source(source, settings)
        try:
            endpoints = ([source.cdx] if source.kind != COMMONCRAWL
                         else crawl_endpoints(fetcher, source))
            for domain, where in targets:
                for endpoint in endpoints:
                    hosts = discover.hosts(fetcher, endpoint, domain,
                                           paged=source.kind == COMMONCRAWL)
                    for host in hosts.values():
                        match = discover.match_district(host.host, where)
                        if match:
                            host.district, host.province = match
                        else:
                            host.province = where
                    discover.merge(found, hosts.values())
        except Exception as e:  # noqa: BLE001 - one line for the user, not a traceback
            raise click.ClickException(f"{source.name}: {e}") from None
        finally:
            fetcher.close()
    return found


def _write_entries(write_to: Path, rows: list[Any],
                   targets: list[tuple[str, str | None]]) -> None:
    """Append the hosts no registry knows yet to the user's registry file ``write_to``."""
    try:
        existing = [p.base_url for p in load_registry().values()]
        if write_to.exists():
            existing += [p.base_url for p in load_registry(write_to).values()]
    except RegistryError as e:
        raise click.ClickException(str(e)) from None
    entries = discover.registry_entries(rows, existing)
    with write_to.open("a", encoding="utf-8") as fh:
        fh.write(discover.toml_tables(entries, "found by portal-archive discover "
                                               f"({', '.join(d for d, _ in targets)})"))
    click.echo(f"{len(entries)} entries added to {write_to}", err=True)


def _answers(host: str) -> bool:
    """Whether the host's home page answers now (any HTTP answer but a 5xx)."""
    for scheme in ("https", "http"):
        try:
            with urllib.request.urlopen(f"{scheme}://{host}/", timeout=10) as response:
                return response.status < 500
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return True
        except (OSError, ValueError):
            continue
    return False
