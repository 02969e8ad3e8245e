"""``export``: write the archive's articles as a corpus for analysts, with a datasheet."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from archive import clusters
from archive.export import FORMATS, ExportError, count_records, export
from archive.filters import FilterError, Filters
from portal_archive.commands import CONTEXT_SETTINGS
from portal_archive.common import (
    QueryCommand,
    echo_json,
    filter_options,
    may_write,
    progress_bar,
    sqlite_errors,
    terminal_safe,
)
from portal_archive.opening import open_existing_index


@click.command("export", cls=QueryCommand, context_settings=CONTEXT_SETTINGS)
@click.argument("query", nargs=-1)
@click.option("--format", "fmt", required=True,
              type=click.Choice(FORMATS),
              help="jsonl, csv, parquet, txt (one file per article) or wacz (WARC records).")
@click.option("--output", required=True, type=click.Path(path_type=Path),
              help="Directory to create for the export (data files and datasheet).")
@filter_options
@click.option("--dedup", is_flag=True,
              help="One record per near-duplicate cluster: the earliest published.")
@click.option("--bom", is_flag=True, help="With --format csv: start the file with a UTF-8 "
              "byte-order mark, so that Excel opens it as UTF-8.")
@click.option("--force", is_flag=True, help="Replace a previous export at --output.")
@click.option("--json", "as_json", is_flag=True, help="Print the export summary as JSON.")
@click.pass_context
def export_command(ctx: click.Context, query: tuple[str, ...], fmt: str, output: Path,
                   filters: Filters, dedup: bool, bom: bool, force: bool, as_json: bool,
                   ) -> None:
    """Export articles, with provenance, as a corpus: the data and a datasheet go in the
    --output directory. QUERY, when given (words, as search takes them), keeps the articles
    a search would find.

    Every record has the same fields in every format (see DATASHEET.md), its
    near-duplicate cluster, and the WARC file, offset, length and digest of its capture.

    \b
    Example:
        portal-archive export --format parquet --output corpus/
        portal-archive export "nông thôn mới" --format jsonl --output ntm/ --since 2020
        portal-archive export --province Huế --format txt --output hue/ --dedup
        portal-archive export --format csv --bom --output for-excel/
        portal-archive export --portal aluoi-tth --format wacz --output aluoi-wacz/
    """
    if bom and fmt != "csv":
        raise click.UsageError("--bom applies to --format csv only")
    data_dir = ctx.obj["data"]
    query = " ".join(query) or None
    # Clusters are kept in the index when it may be written, else for this export only.
    writable = may_write(data_dir / "index.db")
    db = open_existing_index(data_dir, write=writable)
    if not writable:
        clusters.cluster_in_temp(db)
    try:
        with sqlite_errors(data_dir):
            filters.check(db)
            if output.resolve() == data_dir.resolve() or data_dir.resolve().is_relative_to(
                    output.resolve()):
                raise ExportError(f"--output {output} would hold the archive itself: "
                                  "choose a directory outside it")
            with contextlib.ExitStack() as stack:
                progress = None
                if sys.stderr.isatty():
                    click.echo("Updating near-duplicate clusters...", err=True)
                    clusters.update_clusters(db)  # first, so that the bar measures the export
                    progress = stack.enter_context(progress_bar(
                        "Exporting", count_records(db, query, filters, dedup=dedup)))
                summary = export(db, data_dir=data_dir, fmt=fmt, output=output, query=query,
                                 filters=filters, dedup=dedup, force=force, progress=progress,
                                 options={"bom": True} if bom else None)
    except (ExportError, FilterError) as e:
        raise click.ClickException(str(e)) from e
    except OSError as e:  # --output where nothing can be written (/proc/x, a full disk)
        raise click.ClickException(f"{e.filename or output}: {e.strerror}") from None
    finally:
        db.close()
    sheet = json.loads((output / "datasheet.json").read_text(encoding="utf-8"))
    for damage in summary.damaged:
        click.echo(f"skipped: {terminal_safe(damage)}", err=True)
    dups = sheet["near_duplicates"]
    dropped = f"; {dups['dropped_by_dedup']} left out by --dedup" if dedup else ""
    click.echo(f"Exported {summary.records} articles as {fmt} to {output}/ "
               f"({dups['clusters_with_duplicates']} near-duplicate clusters, "
               f"{dups['duplicates']} duplicates{dropped})", err=True)
    if as_json:
        echo_json({key: sheet[key] for key in (
            "format", "files", "filters", "dedup", "records", "near_duplicates",
            "records_per_portal", "records_per_year", "damaged_warc_regions")}
            | {"output": str(output)})
