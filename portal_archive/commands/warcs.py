"""``show``, ``reindex``, ``verify`` and ``cdxj``: read the WARC files back, rebuild the index
from them, check that both are whole, index them for replay."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from archive.cdxj import write_cdxj
from archive.index import OutdatedIndex, article_by_key
from archive.lock import is_held
from archive.reindex import rebuild
from archive.verify import verify
from archive.warc import OPEN_SUFFIX
from archive.warcfiles import Damage, DamagedRecord, decoded_payload, read_record, warc_files
from cleaners.decode import decode
from crawler.urls import clean_url
from portal_archive.commands import CONTEXT_SETTINGS
from portal_archive.common import (
    echo_json,
    locked,
    progress_bar,
    terminal_safe,
)
from portal_archive.opening import open_existing_index


@click.command("show", context_settings=CONTEXT_SETTINGS)
@click.argument("key", metavar="URL_OR_ID")
@click.option("--raw", is_flag=True, help="Print the page as it was served, from its WARC "
              "record (decompressed and decoded), instead of the clean article.")
@click.option("--json", "as_json", is_flag=True, help="Print the stored article as JSON.")
@click.pass_context
def show_command(ctx: click.Context, key: str, raw: bool, as_json: bool) -> None:
    """Show a stored article, or with --raw the archived page as served.

    URL_OR_ID is an article id (from search --json), its URL or one of its other URLs; with
    --raw any archived URL works (its latest capture).

    \b
    Example:
        portal-archive show "http://aluoi-tth.test/?gd=34&cn=28&tc=1628"
        portal-archive show 3f2a9c0d1e2b4a5f --json
        portal-archive show http://aluoi-tth.test/ --raw | less
    """
    data = ctx.obj["data"]
    db = open_existing_index(data)
    # A pasted URL is cleaned as the crawler cleans the URLs it archives (#fragment, utm_...,
    # upper-case host), when it is not stored as typed.
    keys = dict.fromkeys([key, clean_url(key)] if "://" in key else [key])
    article = next(filter(None, (article_by_key(db, k) for k in keys)), None)
    if raw:
        pointer = article or next(filter(None, (next(db.query(
            "select * from captures where url = ? and record_type = 'response' "
            "order by time desc limit 1", [k]), None) for k in keys)), None)
        if pointer is None:
            raise click.ClickException(f"nothing archived at {key}")
        try:
            record = read_record(data / "warc", pointer["warc_file"], pointer["warc_offset"],
                                 pointer["warc_length"])
        except DamagedRecord as e:
            raise click.ClickException(f"{e}: the capture cannot be read ("
                                       "'portal-archive verify' lists what else is damaged)"
                                       ) from None
        if record.rec_type == "revisit":
            click.echo(f"{key}: the capture is a revisit of an earlier identical one "
                       f"({record.rec_headers.get_header('WARC-Refers-To-Date')})", err=True)
            raise SystemExit(1)
        body = decoded_payload(record)
        if not sys.stdout.isatty():
            sys.stdout.buffer.write(body)
            return
        headers = {"Content-Type": record.http_headers.get_header("Content-Type") or ""}
        click.echo(terminal_safe(decode(body, headers)[0]))
        return
    if article is None:
        click.echo(f"No stored article at {key} (search for it with 'portal-archive search')",
                   err=True)
        raise SystemExit(1)
    if as_json:
        article["captions"] = json.loads(article["captions"] or "[]")
        article["attachments"] = json.loads(article["attachments"] or "[]")
        article["alternate_urls"] = json.loads(article["alternate_urls"] or "[]")
        echo_json(article)
        return
    # Archived text has no control character (cleaners.normalize.archive_text); an archive
    # made by an older version may: none reaches the terminal.
    click.echo(click.style(terminal_safe(article["title"] or "(untitled)"), bold=True))
    click.echo(terminal_safe(f"{article['published'] or '-'}  {article['portal']}  "
                             f"{article['url']}"))
    if article["author"]:
        click.echo(terminal_safe(article["author"]))
    click.echo(f"WARC: {article['warc_file']} @ {article['warc_offset']}")
    click.echo()
    click.echo(terminal_safe(article["text"]))


@click.command("reindex", context_settings=CONTEXT_SETTINGS)
@click.argument("warcs", nargs=-1, type=click.Path(exists=True, dir_okay=False,
                                                    path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def reindex_command(ctx: click.Context, warcs: tuple[Path, ...], as_json: bool) -> None:
    """Rebuild the index from the WARC files alone.

    Reads WARCS (default: every closed WARC file under the data directory, oldest first),
    builds a new index next to the old one and swaps it in when done: an interrupted reindex
    leaves the old index untouched. Run history and learned templates, which WARC does not
    hold, are carried over from the old index.

    \b
    Example:
        portal-archive reindex
        portal-archive --data /srv/archive reindex /srv/archive/warc/*.warc.gz
    """
    data: Path = ctx.obj["data"]
    damaged: list[Damage] = []
    with locked(data):  # first: a crawl running beside is the thing to say
        files = list(warcs) or warc_files(data / "warc")
        if not files:
            raise click.ClickException(f"no WARC files under {data / 'warc'}: nothing to "
                                       "reindex")
        unclosed = [p for p in (*files, *warc_files(data / "warc", include_open=True))
                    if p.name.endswith(OPEN_SUFFIX)]
        if unclosed:
            raise click.ClickException(
                f"{len(set(unclosed))} WARC files were never closed ({unclosed[0].name}...): a "
                "crawl was killed. Run 'portal-archive verify --repair' first, which closes "
                "them and keeps every complete record")
        notes: list[str] = []
        with progress_bar("Reindexing", sum(p.stat().st_size for p in files)) as progress:
            counts = rebuild(data, files, progress=progress, on_damage=damaged.append,
                             notes=notes)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    for damage in damaged:
        click.echo(f"skipped: {terminal_safe(str(damage))}", err=True)
    if as_json:
        click.echo(json.dumps({**counts, "damaged": [str(d) for d in damaged]}))
    else:
        click.echo(f"Reindexed {counts['records']:,} records of {counts['files']} WARC files: "
                   f"{counts['captures']:,} captures, {counts['articles']:,} articles"
                   f"{f'; {len(damaged)} damaged regions skipped' if damaged else ''}.",
                   err=True)


@click.command("verify", context_settings=CONTEXT_SETTINGS)
@click.option("--repair", is_flag=True, help="Mend what a crash leaves: cut a torn last record "
              "off WARC files that were never closed (named .open) and close them, add the "
              "records the index lacks, mark runs left running as killed.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def verify_command(ctx: click.Context, repair: bool, as_json: bool) -> None:
    """Check every WARC file and every index pointer; exit 1 on a problem.

    Every gzip member must be complete, every record must parse and match its block and
    payload digests, every capture and article of the index must point at its record, every
    record of the WARC files must be in the index, and no WARC file may be left .open nor a
    run left running by a crawl that is gone. A damaged region of a WARC file is named by
    its file, offset and size.

    \b
    Example:
        portal-archive verify
        portal-archive verify --repair      # after a crash or a kill -9
    """
    data: Path = ctx.obj["data"]
    if not (data / "warc").is_dir():
        raise click.ClickException(f"no archive at {data} (no warc/ directory)")
    total = sum(p.stat().st_size for p in warc_files(data / "warc", include_open=True))
    try:
        with locked(data) if repair else contextlib.nullcontext(), \
                progress_bar("Verifying", total) as progress:
            report = verify(data, repair=repair, progress=progress)
    except OutdatedIndex as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        echo_json(report.to_dict())
    else:
        for line in report.notes:
            click.echo(f"note: {line}")
        for line in report.repairs:
            click.echo(f"repaired: {terminal_safe(line)}")
        for line in report.problems:
            click.echo(f"PROBLEM: {terminal_safe(line)}")
        click.echo(f"{report.files} WARC files, {report.records:,} records, "
                   f"{report.pointers:,} index pointers: "
                   f"{'OK' if report.ok else f'{len(report.problems)} problems'}")
    if not report.ok:
        raise SystemExit(1)


@click.command("cdxj", context_settings=CONTEXT_SETTINGS)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the index here instead of DATA/index.cdxj (an archive you may not "
              "write to).")
@click.pass_context
def cdxj_command(ctx: click.Context, output: Path | None) -> None:
    """Write DATA/index.cdxj, the CDXJ index replay tools such as pywb read.

    \b
    Example:
        portal-archive cdxj
        portal-archive --data /mnt/snapshot cdxj --output /tmp/snapshot.cdxj
        # then replay with pywb: a config.yaml holding
        #   collections: {portals: {index_paths: DATA/index.cdxj, archive_paths: DATA/warc/}}
        wayback --bind 127.0.0.1 --port 8080     # http://127.0.0.1:8080/portals/URL
    """
    data: Path = ctx.obj["data"]
    if not any((data / "warc").glob("*.warc.gz")):
        raise click.ClickException(f"no closed WARC files under {data / 'warc'}")
    unclosed = [p for p in warc_files(data / "warc", include_open=True)
                if p.name.endswith(OPEN_SUFFIX)]
    if unclosed and not is_held(data):
        raise click.ClickException(
            f"{len(unclosed)} WARC files were never closed ({unclosed[0].name}...): a crawl "
            "was killed. Run 'portal-archive verify --repair' first, which closes them and "
            "keeps every complete record")
    target = output or data / "index.cdxj"
    if not os.access(target.parent, os.W_OK):  # the index is written beside it, then renamed
        raise click.ClickException(f"cannot write {target}: give --output FILE elsewhere")
    damaged: list[Damage] = []
    path, lines = write_cdxj(data, target, on_damage=damaged.append)
    for damage in damaged:
        click.echo(f"skipped: {terminal_safe(str(damage))}", err=True)
    in_use = f" ({len(unclosed)} WARC files still written by the running crawl left out)" \
        if unclosed else ""
    click.echo(f"{path}: {lines:,} captures indexed{in_use}", err=True)
