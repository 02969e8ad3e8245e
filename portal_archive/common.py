"""What commands share: context settings, output options and writers, the table printer, the
progress bar, and where the archive's index is. Every command and the group import it, so it
stays light: opening the index for writing (sqlite-utils, the migrations) is in
``portal_archive/opening.py``."""

from __future__ import annotations

import contextlib
import csv
import difflib
import functools
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from archive.dberror import REINDEX_HINT, is_damage
from archive.filters import FilterError, Filters, period
from archive.lock import LockedError, RunLock
from archive.progress import Progress

OUTPUT_FLAGS = {
    "json": "Print {what} as a JSON array.",
    "nl": "Print {what} as JSON lines, one object per line.",
    "csv": "Print {what} as CSV with a header row.",
}


class QueryCommand(click.Command):
    """A command whose words are a search query (``search``, ``export``): words need no
    quotes, and a word that starts with ``-`` is an excluded word of the query unless it is
    one of the command's options (``-hà`` is a word, ``-h`` the help). After ``--`` every
    argument is a query word."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        arity = {}  # option name -> how many values follow it
        for param in self.get_params(ctx):
            if isinstance(param, click.Option):
                for name in (*param.opts, *param.secondary_opts):
                    arity[name] = 0 if param.is_flag or param.count else param.nargs
        options: list[str] = []
        words: list[str] = []
        rest = iter(args)
        for arg in rest:
            if arg == "--":
                words += rest
                break
            name = arg.partition("=")[0] if arg.startswith("--") else arg
            if arg.startswith("-") and not arg.startswith("--") and name not in arity:
                words.append(arg)  # -word: excluded from the query, not an option
            elif name in arity:
                options.append(arg)
                if "=" not in arg:
                    options += [next(rest, "") for _ in range(arity[name])]
            elif arg.startswith("--"):
                options.append(arg)  # unknown: click says so
            else:
                words.append(arg)
        return super().parse_args(ctx, [*options, "--", *words])


@contextlib.contextmanager
def sqlite_errors(data_dir: Path) -> Iterator[None]:
    """An SQLite error while a command reads the index, as one line naming the index (and,
    when the file is damaged, how to rebuild it)."""
    try:
        yield
    except sqlite3.Error as e:
        raise click.ClickException(sqlite_message(data_dir / "index.db", e)) from None


def sqlite_message(path: Path, error: sqlite3.Error) -> str:
    """One line for an SQLite error on the index at ``path``."""
    if str(error).startswith(str(path)):  # archive.index.DamagedIndex says it all
        return str(error)
    return f"{path}: SQLite error: {error}" + (f": {REINDEX_HINT}" if is_damage(error) else "")


# C0 and C1 control characters but newline and tab: a crawled title must not move the cursor,
# set the window title or write the clipboard (OSC 52) on the terminal that prints it.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0B, 0x20),
                                          *range(0x7F, 0xA0))}


def terminal_safe(text: str, keep: Sequence[str] = ()) -> str:
    """``text`` with every control character but newline and tab (and those in ``keep``)
    shown as ``\\xNN``."""
    if text.isprintable():
        return text
    return text.translate({c: s for c, s in _CONTROLS.items() if chr(c) not in keep}
                          if keep else _CONTROLS)


def output_options(what: str, *formats: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--json`` (and, when asked, ``--nl`` and ``--csv``) as one ``fmt`` argument: None when
    the output is for a person."""
    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in reversed(formats or ("json",)):
            fn = click.option(f"--{name}", "fmt", flag_value=name,
                              help=OUTPUT_FLAGS[name].format(what=what))(fn)
        return fn
    return decorator


def _period(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        return None if value is None else period(value)
    except FilterError as e:
        raise click.BadParameter(str(e)) from None


FILTER_OPTIONS = (
    click.option("--portal", "portals", multiple=True, metavar="ID",
                 help="Only this portal (repeatable)."),
    click.option("--province", help="Only portals of this province: its name before the 2025 "
                 "reform or the one it joined then."),
    click.option("--district", help="Only portals of this district (as the portal knew it)."),
    click.option("--since", callback=_period, metavar="DATE",
                 help="Published in or after this YYYY, YYYY-MM or YYYY-MM-DD."),
    click.option("--until", callback=_period, metavar="DATE",
                 help="Published in or before this YYYY, YYYY-MM or YYYY-MM-DD (the whole "
                 "period: --until 2024 includes 31 December)."),
    click.option("--category", help="Only articles of this category (as the portal printed "
                 "it)."),
    click.option("--source", "sources", multiple=True, metavar="SOURCE",
                 help="Only articles whose capture came from here: live (our crawl), ia, cc "
                 "or an archive's name, as 'recover' recorded it (repeatable)."),
)


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose articles (archive/filters.py), given to the command as one
    ``filters`` argument."""
    @functools.wraps(fn)
    def command(*args: Any, portals: tuple[str, ...], province: str | None,
                district: str | None, since: str | None, until: str | None,
                category: str | None, sources: tuple[str, ...], **kwargs: Any) -> Any:
        filters = Filters(portals=portals, province=province, district=district, since=since,
                          until=until, category=category, sources=sources)
        return fn(*args, filters=filters, **kwargs)

    for option in reversed(FILTER_OPTIONS):
        command = option(command)
    return command


def cleaner_config_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--cleaner-config FILE``: keys that override the cleaners' shipped settings.cfg."""
    return click.option(
        "--cleaner-config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        metavar="FILE", help="Override cleaner options (cleaners/settings.cfg keys) from FILE.",
    )(fn)


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, fields: Sequence[str]) -> None:
    """Rows for another program: a JSON array, JSON lines or CSV, in ``fields`` order."""
    rows = ({name: row.get(name) for name in fields} for row in rows)
    if fmt == "json":
        click.echo(json.dumps(list(rows), ensure_ascii=False, indent=2))
    elif fmt == "nl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    else:
        if sys.stdout.isatty():  # for a person after all: no control character reaches it
            rows = ({k: terminal_safe(v) if isinstance(v, str) else v for k, v in row.items()}
                    for row in rows)
        writer = csv.DictWriter(sys.stdout, fieldnames=list(fields), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def print_table(header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                right: Iterable[int] = ()) -> None:
    """A table for a person: the header underlined, columns as wide as their widest cell and
    two spaces apart, the columns numbered in ``right`` (numbers) aligned right."""
    table = [[str(c) for c in header], *([terminal_safe(str(c)) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    right = set(right)

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    click.echo(line(table[0]))
    click.echo("-" * len(line(table[0])))
    for cells in table[1:]:
        click.echo(line(cells))


@contextlib.contextmanager
def progress_bar(label: str, total: int) -> Iterator[Progress | None]:
    """The progress bar of a long command: on stderr when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        yield None
        return
    with Progress(label, total, stream=sys.stderr) as bar:
        yield bar


def may_write(path: Path) -> bool:
    """Whether this process may change ``path`` (and make files beside it, as SQLite does)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def index_path(data_dir: Path) -> Path:
    """The archive's index, which must exist: a user pointing at a wrong directory is told."""
    path = data_dir / "index.db"
    if not path.exists():
        raise click.ClickException(
            f"no archive at {data_dir} (no index.db): run 'portal-archive crawl' first, "
            "or point --data / PORTAL_ARCHIVE_DATA at an archive"
        )
    return path


@contextlib.contextmanager
def locked(data: Path) -> Iterator[None]:
    """The crawl's lock: rebuilding or repairing next to a running crawl would corrupt it."""
    lock = RunLock(data)
    try:
        lock.acquire()
    except LockedError as e:
        raise click.ClickException(f"{e}: try again when the crawl has finished") from None
    except OSError as e:  # a read-only archive: this command writes to it
        raise click.ClickException(f"{e.filename}: {e.strerror}: this command changes the "
                                   "archive, which needs write access") from None
    try:
        yield
    finally:
        lock.release()


def parse_settings(values: tuple[str, ...], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``-s NAME=VALUE`` pairs, each value read as the type of the setting's default in
    ``defaults`` (a bad value is a usage error that says what is expected). A name that is
    not in ``defaults`` is passed on, with a warning naming the closest known setting: it may
    belong to an extension, or be a misspelling that would otherwise do nothing."""
    settings: dict[str, Any] = {}
    for item in values:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="-s")
        if name in defaults:
            settings[name] = _typed(name, text, defaults[name])
            continue
        close = difflib.get_close_matches(name, list(defaults), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        click.echo(f"Warning: -s {name}: no such setting{hint}; passed on as given", err=True)
        settings[name] = _typed(name, text, None)
    return settings


def _typed(name: str, text: str, default: Any) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    expected = None
    if isinstance(default, bool):
        value = {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower())
        expected = None if value is not None else "true or false"
    elif isinstance(default, int | float):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        expected = None if number else "a number"
    elif isinstance(default, str):
        value = text
    elif isinstance(default, dict):
        expected = None if isinstance(value, dict) else 'a JSON object, such as \'{"KEY": 1}\''
    elif isinstance(default, list | tuple) and not isinstance(value, list):
        value = text  # a comma-separated list, as Scrapy's getlist reads it
    if expected:
        shown = "" if isinstance(default, dict) else f" (default: {json.dumps(default)})"
        raise click.BadParameter(f"{name}={text}: expects {expected}{shown}", param_hint="-s")
    return value
