"""The ``portal-archive`` command line."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from archive import __version__

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
DEMO_FIXTURES = Path(__file__).with_name("demo") / "fixtures"
DEMO_QUERY = "nông thôn mới"
DEMO_MARKER = ".portal-archive-demo"


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version")
@click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
    envvar="PORTAL_ARCHIVE_DATA", default=Path("data"), show_default=True,
    help="Data directory: WARC files in warc/, the index in index.db. "
         "Env: PORTAL_ARCHIVE_DATA.",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path) -> None:
    """Archive Vietnamese government news portals: WARC capture, clean text, search.

    \b
    Example:
        portal-archive demo
        portal-archive crawl --portal aluoi-tth
        portal-archive search "nông thôn mới"
    """
    ctx.obj = {"data": data_dir}


def parse_settings(values: tuple[str, ...]) -> dict[str, Any]:
    """``-s NAME=VALUE`` pairs, values read as JSON when they parse (numbers, booleans)."""
    settings: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="-s")
        try:
            settings[name] = json.loads(value)
        except json.JSONDecodeError:
            settings[name] = value
    return settings


def print_summary_table(summaries: list[Any]) -> None:
    header = (f"{'portal':<20} {'pages':>6} {'articles':>8} {'new':>5} {'WARC bytes':>11} "
              f"{'seconds':>8}")
    click.echo(header)
    click.echo("-" * len(header))
    for s in summaries:
        click.echo(f"{s.portal:<20} {s.pages:>6} {s.articles:>8} {s.new:>5} "
                   f"{s.warc_bytes:>11,} {s.seconds:>8.1f}")


def run_crawl(portals: list[Any], data_dir: Path, overrides: dict[str, Any],
              fixtures: Path | None) -> list[Any]:
    from crawler.runner import FIXTURE_SETTINGS, crawl, project_settings
    from portal_archive.demo.server import FixtureServer

    with contextlib.ExitStack() as stack:
        if fixtures is not None:
            server = stack.enter_context(FixtureServer(fixtures))
            overrides = {**FIXTURE_SETTINGS, "PORTAL_PROXY": server.url, **overrides}
        return crawl(portals, project_settings(data_dir, overrides))


@cli.command(context_settings=CONTEXT_SETTINGS)
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
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_context
def crawl(ctx: click.Context, portal_ids: tuple[str, ...], all_portals: bool,
          fixtures: Path | None, url: str | None, province: str | None, district: str | None,
          settings: tuple[str, ...], as_json: bool) -> None:
    """Crawl portals into the archive.

    Every request and response goes to WARC; articles go to the index. Made for cron: one crawl
    at a time per data directory, the log in DATA/logs/<run-id>.log, nothing printed but errors
    and alarms unless on a terminal. Exit status: 0 done, 1 some portal failed, 2 usage error,
    3 another crawl is running, 4 alarm (see 'portal-archive status').

    \b
    Example:
        portal-archive crawl --portal aluoi-tth --portal vinhbao-hp
        portal-archive crawl --fixtures portal_archive/demo/fixtures
        portal-archive crawl --url https://example.gov.vn/ --province "Hà Nội"
        portal-archive crawl --portal baonghean -s DOWNLOAD_DELAY=2
    """
    from crawler.registry import Portal, RegistryError, load_fixture_portals, load_registry
    from crawler.registry import select as select_portals

    overrides = parse_settings(settings)
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
    # Operations (portal_archive/commands/ops.py): lock, log file, run record, alarms.
    from crawler.runner import project_settings
    from portal_archive.commands.ops import CrawlJob

    with CrawlJob(ctx.obj["data"], fixtures) as job:
        overrides = {**job.settings(), **overrides}
        portals = job.with_full_crawls(portals)
        summaries = run_crawl(portals, ctx.obj["data"], overrides, fixtures)
        exit_code = job.finish(portals, project_settings(ctx.obj["data"], overrides))
    if as_json:
        click.echo(json.dumps([asdict(s) for s in summaries], ensure_ascii=False, indent=2))
    elif sys.stdout.isatty():
        print_summary_table(summaries)
    ctx.exit(exit_code)


def open_existing_index(data_dir: Path) -> Any:
    from archive.index import open_index

    path = data_dir / "index.db"
    if not path.exists():
        raise click.ClickException(
            f"no archive at {data_dir} (no index.db): run 'portal-archive crawl' first, "
            "or point --data / PORTAL_ARCHIVE_DATA at an archive"
        )
    return open_index(path)


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("--json", "as_json", is_flag=True, help="Print the registry as JSON.")
def portals(as_json: bool) -> None:
    """List the portals of the registry (crawler/portals.toml).

    \b
    Example:
        portal-archive portals
        portal-archive portals --json | jq '.[].id'
    """
    from crawler.registry import RegistryError, load_registry

    try:
        registry = load_registry()
    except RegistryError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in registry.values()], ensure_ascii=False,
                              indent=2))
        return
    for p in registry.values():
        unit = ", ".join(x for x in (p.district, p.province) if x)
        flag = "" if p.checked else "  (not checked against the live site)"
        click.echo(f"{p.id:<20} {p.base_url:<45} {unit}{flag}")


@cli.command(context_settings=CONTEXT_SETTINGS)
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo-data"), show_default=True,
              help="Data directory for the demo archive (recreated on every run).")
@click.option("--query", default=DEMO_QUERY, show_default=True, help="Sample search.")
def demo(output: Path, query: str) -> None:
    """Crawl the bundled demo portals on loopback, then search the new archive.

    The four demo portals are simulated by a server on 127.0.0.1: nothing leaves the machine.
    Politeness delays are shortened, as the server is our own.

    \b
    Example:
        portal-archive demo
        portal-archive demo --output /tmp/demo --query "hội đồng"
    """
    from archive.search import search as run_search
    from crawler.registry import load_fixture_portals
    from portal_archive.commands.search import print_hits

    if output.exists():
        if not (output / DEMO_MARKER).exists():
            raise click.ClickException(
                f"{output} exists and was not made by the demo: choose another --output"
            )
        shutil.rmtree(output)
    output.mkdir(parents=True)
    (output / DEMO_MARKER).touch()
    portals = list(load_fixture_portals(DEMO_FIXTURES).values())
    click.echo(f"Crawling {len(portals)} demo portals into {output}/ ...", err=True)
    summaries = run_crawl(portals, output, {"LOG_LEVEL": "WARNING"}, DEMO_FIXTURES)
    click.echo()
    print_summary_table(summaries)
    click.echo()
    click.echo(f'Top hits for "{query}":')
    click.echo()
    print_hits(run_search(open_existing_index(output), query, limit=5))
    click.echo(f"Try: portal-archive --data {output} search \"hội đồng nhân dân\"")


# Commands defined in their own modules (portal_archive/commands/), one line each.
from portal_archive.commands.cleaning import eval_command, extract_command  # noqa: E402
from portal_archive.commands.search import search_command  # noqa: E402

cli.add_command(extract_command)
cli.add_command(eval_command)
cli.add_command(search_command)
from portal_archive.commands.export import export_command  # noqa: E402

cli.add_command(export_command, "export")
from portal_archive.commands.ops import cron_command, status_command  # noqa: E402

cli.add_command(status_command)
cli.add_command(cron_command)
from portal_archive.commands.archive import (  # noqa: E402
    cdxj_command,
    reindex_command,
    show_command,
    verify_command,
)

cli.add_command(show_command)
cli.add_command(reindex_command)
cli.add_command(verify_command)
cli.add_command(cdxj_command)


def main() -> None:
    cli(prog_name="portal-archive")


if __name__ == "__main__":
    sys.exit(main())
