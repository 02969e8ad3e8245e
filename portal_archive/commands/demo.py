"""``demo``: crawl the bundled demo portals on loopback, then search the new archive."""

from __future__ import annotations

from pathlib import Path

import click

from archive.paths import remove_tree
from archive.search import search
from crawler.registry import load_fixture_portals
from portal_archive.commands import CONTEXT_SETTINGS
from portal_archive.commands.crawl import print_summaries, run_crawl
from portal_archive.commands.search import print_hits
from portal_archive.demo import FIXTURES
from portal_archive.opening import open_existing_index

DEMO_QUERY = "nông thôn mới"
DEMO_MARKER = ".portal-archive-demo"  # in an output directory the demo made, and may remake


@click.command("demo", context_settings=CONTEXT_SETTINGS)
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo-data"), show_default=True,
              help="Data directory for the demo archive (recreated on every run).")
@click.option("--query", default=DEMO_QUERY, show_default=True, help="Sample search.")
def demo_command(output: Path, query: str) -> None:
    """Crawl the bundled demo portals on loopback, then search the new archive.

    The four demo portals are simulated by a server on 127.0.0.1: nothing leaves the machine.
    Politeness delays are shortened, as the server is our own.

    \b
    Example:
        portal-archive demo
        portal-archive demo --output /tmp/demo --query "hội đồng"
    """
    if output.exists():
        if not (output / DEMO_MARKER).exists():
            raise click.ClickException(
                f"{output} exists and was not made by the demo: choose another --output"
            )
        remove_tree(output.parent, output)
    output.mkdir(parents=True)
    (output / DEMO_MARKER).touch()
    portals = list(load_fixture_portals(FIXTURES).values())
    click.echo(f"Crawling {len(portals)} demo portals into {output}/ ...", err=True)
    summaries = run_crawl(portals, output, {"LOG_LEVEL": "WARNING"}, FIXTURES)
    click.echo()
    print_summaries(summaries)
    click.echo()
    click.echo(f'Top hits for "{query}":')
    click.echo()
    print_hits(search(open_existing_index(output), query, limit=5))
    click.echo(f"Try: portal-archive --data {output} search \"hội đồng nhân dân\"")
