"""``search``: Vietnamese full-text search of the archived articles, for people and tools."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import click

from archive.filters import FilterError, Filters
from archive.query import QueryError
from archive.search import HIGHLIGHT, SORTS, connect, count, search
from portal_archive.commands import CONTEXT_SETTINGS
from portal_archive.common import (
    QueryCommand,
    filter_options,
    index_path,
    output_options,
    sqlite_errors,
    terminal_safe,
    write_rows,
)

FIELDS = ("id", "url", "portal", "title", "published", "category", "author", "snippet",
          "warc_file", "warc_offset", "warc_length", "payload_digest")


@click.command("search", cls=QueryCommand, context_settings=CONTEXT_SETTINGS)
@click.argument("query", nargs=-1, required=True)
@filter_options
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--exact", is_flag=True,
              help="Match the words with their diacritics exactly as typed.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000),
              help="Number of hits.")
@click.option("--offset", default=0, type=click.IntRange(0), help="Skip this many hits.")
@click.option("--count", "count_only", is_flag=True, help="Print only how many articles match.")
@output_options("the hits", "json", "nl", "csv")
@click.pass_context
def search_command(ctx: click.Context, query: tuple[str, ...], filters: Filters, sort: str,
                   exact: bool, limit: int, offset: int, count_only: bool, fmt: str | None) -> None:
    """Search the archived articles.

    QUERY is one or more words, quoted or not. Diacritics are optional: "hoi dong" finds
    "Hội đồng", "duong" finds "đường"; words typed with diacritics rank exact matches first
    (--exact keeps only those). Every word is required (AND between words says the same);
    OR joins alternatives; NOT word or -word leaves out articles holding it; "quoted words"
    must be adjacent (quote the quotes for the shell: '"nông thôn"'); word* matches a
    prefix. AND, OR and NOT are operators in upper case only. Every word after -- is a
    query word, even one spelt like an option (search -- -h). --since and --until take a
    year, a month or a day, and keep the whole of it.

    \b
    Example:
        portal-archive search nông thôn mới
        portal-archive search 'hoi dong -"nhân dân"' --since 2023 --portal aluoi-tth
        portal-archive search covid OR dịch NOT 'vắc-xin' --count
        portal-archive search covid --sort newest --nl | jq .url
    """
    data = ctx.obj["data"]
    db = connect(index_path(data))
    if db is None:
        # An index older than this code is migrated first: only then are sqlite-utils and
        # the index module loaded, as the command table loads a command (a search that only
        # reads does without them: they take longer to import than the search takes).
        db = importlib.import_module("portal_archive.opening").open_existing_index(data)
    try:
        with sqlite_errors(data):
            filters.check(db)
            if count_only:
                n = count(db, " ".join(query), filters=filters, exact=exact)
                click.echo(json.dumps({"count": n}) if fmt else n)
                return
            hits = search(db, " ".join(query), filters=filters, sort=sort, limit=limit,
                          offset=offset, exact=exact)
    except (QueryError, FilterError) as e:
        raise click.ClickException(str(e)) from None
    finally:
        db.close()
    if fmt:
        write_rows(map(_plain, hits), fmt, FIELDS)
        return
    if not hits:
        click.echo("No articles match.", err=True)
        return
    print_hits(hits, color=sys.stdout.isatty())


def _plain(hit: dict[str, Any]) -> dict[str, Any]:
    snippet = hit.get("snippet") or ""
    return {k: (snippet.replace(HIGHLIGHT[0], "").replace(HIGHLIGHT[1], "") if k == "snippet"
                else hit.get(k)) for k in FIELDS}


def print_hits(hits: list[dict[str, Any]], color: bool = False) -> None:
    """Hits for a person: title, date, portal, URL, then the snippet with matched words
    in bold on a terminal, [between brackets] otherwise."""
    start, end = ("\x1b[1;33m", "\x1b[0m") if color else ("[", "]")
    for hit in hits:
        click.echo(click.style(terminal_safe(hit["title"] or "(untitled)"), bold=True),
                   color=color)
        click.echo(terminal_safe(f"  {hit['published'] or '-'}  {hit['portal']}  {hit['url']}"))
        # The highlight marks (\x02, \x03) become colour or brackets; anything else is shown.
        snippet = terminal_safe(hit.get("snippet") or "", keep=HIGHLIGHT).replace(
            HIGHLIGHT[0], start)
        if snippet:
            click.echo("  " + snippet.replace(HIGHLIGHT[1], end), color=color)
        click.echo()
