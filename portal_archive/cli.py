"""The ``portal-archive`` command line: the group, and the table of commands registered on it.

Each command lives in a module of ``portal_archive/commands/`` and never imports this one.
``COMMANDS`` names, for every command, the module and function that define it and the line
``--help`` lists it with; the module is imported (its own imports at its top) only when the
command is run or asked for its help, so ``portal-archive search`` never loads Scrapy and
``portal-archive --help`` loads no command. A new command is a function in one of those
modules and one line in ``COMMANDS`` (``tests/test_cli.py`` checks the line against the
command's docstring). What commands share (context settings, output options, the table
printer, the progress bar) is in ``portal_archive/common.py``; this module imports none of
it, so that ``--help`` loads neither the index nor SQLite.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

import click

from archive.dberror import REINDEX_HINT, is_damage
from portal_archive.commands import CONTEXT_SETTINGS


class Entry(NamedTuple):
    module: str  # under portal_archive.commands
    function: str
    summary: str  # the first paragraph of the command's docstring


COMMANDS = {
    "crawl": Entry("crawl", "crawl_command", "Crawl portals into the archive."),
    "portals": Entry("crawl", "portals_command",
                     "List the portals of the registry (crawler/portals.toml)."),
    "demo": Entry("demo", "demo_command", "Crawl the bundled demo portals on loopback, then "
                  "search the new archive."),
    "search": Entry("search", "search_command", "Search the archived articles."),
    "export": Entry("export", "export_command", "Export articles, with provenance, as a "
                    "corpus: the data and a datasheet go in the --output directory."),
    "show": Entry("warcs", "show_command", "Show a stored article, or with --raw the archived "
                  "page as served."),
    "reindex": Entry("warcs", "reindex_command", "Rebuild the index from the WARC files alone."),
    "verify": Entry("warcs", "verify_command", "Check every WARC file and every index pointer; "
                    "exit 1 on a problem."),
    "cdxj": Entry("warcs", "cdxj_command", "Write DATA/index.cdxj, the CDXJ index replay tools "
                  "such as pywb read."),
    "extract": Entry("cleaning", "extract_command", "Extract articles from local HTML files; "
                     "prints JSON (null for non-articles)."),
    "eval": Entry("cleaning", "eval_command", "Score extraction on a fixture directory against "
                  "its gold records."),
    "status": Entry("ops", "status_command", "Per portal: last run, articles archived, recent "
                    "new articles, error rate, health."),
    "recover": Entry("recover", "recover_command", "Recover dead portals' pages and documents "
                     "from web archives into the archive."),
    "discover": Entry("recover", "discover_command", "List the hosts web archives hold under "
                      "a province's government domains."),
    "enqueue": Entry("cluster", "enqueue_command", "Queue portals for the workers of a "
                     "distributed crawl."),
    "merge": Entry("cluster", "merge_command", "Merge workers' archives (data directories) "
                   "into this one, for search and export."),
    "cluster": Entry("cluster", "cluster_command", "Run a distributed crawl on this machine: "
                     "Redis on 127.0.0.1 and N workers."),
    "cron": Entry("ops", "cron_command", "Print (or install) the crontab line that crawls "
                  "every enabled portal on a schedule."),
}


class CommandTable(click.Group):
    """A group whose commands are the entries of ``COMMANDS``, each loaded when needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f"portal_archive.commands.{entry.module}")
        return getattr(module, entry.function)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except sqlite3.DatabaseError as e:
            # Any command that finds the index damaged: one line, and how to mend it.
            if not is_damage(e):
                raise
            index = (ctx.obj or {}).get("data", Path("data")) / "index.db"
            said = str(e) if REINDEX_HINT in str(e) else \
                f"{index}: the index cannot be read ({e}): {REINDEX_HINT}"
            raise click.ClickException(said) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # As click lists commands, from the table: listing them loads none.
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, textwrap.shorten(COMMANDS[name].summary, limit, placeholder="...",
                                        break_on_hyphens=False))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=CommandTable, context_settings=CONTEXT_SETTINGS)
@click.version_option(None, "-V", "--version", package_name="portal-archive")
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


def main() -> None:
    cli(prog_name="portal-archive")


if __name__ == "__main__":
    sys.exit(main())
