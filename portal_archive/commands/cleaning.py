"""``extract`` and ``eval``: run the cleaners on local HTML files or score them on fixtures."""

from __future__ import annotations

import configparser
import json
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

import click

from cleaners import Options, extract, learn_from_articles, parse
from cleaners.evaluate import evaluate
from portal_archive.commands import CONTEXT_SETTINGS
from portal_archive.common import cleaner_config_option, print_table


def _read_url_file(path: Path) -> list[tuple[Path, str]]:
    pairs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        file, sep, url = line.partition("\t")
        if not sep or not url.strip():
            raise click.ClickException(f"{path}:{n}: expected 'path<TAB>url', got {line!r}")
        pairs.append((Path(file.strip()), url.strip()))
    return pairs


def _inputs(paths: tuple[Path, ...], urls: tuple[str, ...],
            urls_from: Path | None) -> list[tuple[Path, str]]:
    """The files to read and the URL of each, checked to exist."""
    if urls and len(urls) != len(paths):
        raise click.ClickException(
            f"{len(urls)} --url given for {len(paths)} PATH(s): give one URL per PATH or none")
    items = [(p, urls[i] if urls else p.resolve().as_uri()) for i, p in enumerate(paths)]
    if urls_from is not None:
        if not urls_from.is_file():
            raise click.ClickException(f"--urls-from file not found: {urls_from}")
        items += _read_url_file(urls_from)
    if not items:
        raise click.UsageError("give at least one PATH or --urls-from FILE")
    for path, _ in items:
        if not path.is_file():
            raise click.ClickException(f"file not found: {path}")
    return items


def _extract_pages(bodies: list[tuple[bytes, str]], options: Options) -> list[dict | None]:
    """Each page's article as a dict (None for a page that is not an article), every host's
    template learned first from its pages, as a crawl learns it (from its articles)."""
    pages_by_host = defaultdict(list)
    for body, url in bodies:
        pages_by_host[urlsplit(url).hostname or ""].append((body, url))
    templates = {host: learn_from_articles(pages, options)
                 for host, pages in pages_by_host.items()}
    docs = [parse(body) for body, _ in bodies]
    results: list[dict | None] = []
    for (body, url), doc in zip(bodies, docs, strict=True):
        art = doc and extract(body, url, template=templates.get(urlsplit(url).hostname or ""),
                              parsed=doc, options=options)
        if art is None:
            results.append(None)
            continue
        d = art.to_dict()
        d.pop("body")  # the body goes out as ``text``
        results.append(d)
    return results


@click.command("extract", context_settings=CONTEXT_SETTINGS)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--url", "urls", multiple=True, metavar="URL",
              help="Page URL of each PATH, in order (default: file:// URL of the file).")
@click.option("--urls-from", type=click.Path(dir_okay=False, path_type=Path),
              help="File of 'path<TAB>url' lines, added after PATH arguments.")
@click.option("--jsonl", is_flag=True, help="One JSON object per line instead of an array.")
@cleaner_config_option
def extract_command(paths: tuple[Path, ...], urls: tuple[str, ...], urls_from: Path | None,
                    jsonl: bool, cleaner_config: Path | None) -> None:
    """Extract articles from local HTML files; prints JSON (null for non-articles).

    All inputs of one call are learned together as host templates (per host) before any
    page is extracted, as a crawl would.

    \b
    Example:
        portal-archive extract page.html --url http://example.test/tin-1.html
        portal-archive extract --urls-from pages.tsv --jsonl
        portal-archive extract page.html --cleaner-config strict.cfg
    """
    options = cleaner_options(cleaner_config)
    results = _extract_pages([(path.read_bytes(), url)
                              for path, url in _inputs(paths, urls, urls_from)], options)
    if jsonl:
        for r in results:
            click.echo(json.dumps(r, ensure_ascii=False))
    else:
        click.echo(json.dumps(results, ensure_ascii=False, indent=1))


def cleaner_options(path: Path | None) -> Options:
    """The shipped cleaner options with FILE's keys over them; a bad file is one line."""
    try:
        return Options.from_config(path)
    except (ValueError, configparser.Error) as e:
        raise click.BadParameter(str(e), param_hint="--cleaner-config") from e


@click.command("eval", context_settings=CONTEXT_SETTINGS)
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--scramble-classes", is_flag=True,
              help="Rename every class/id token (consistently per host) before scoring: the "
                   "same pages as a CMS with a vocabulary never seen.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@cleaner_config_option
def eval_command(directory: Path, scramble_classes: bool, as_json: bool,
                 cleaner_config: Path | None) -> None:
    """Score extraction on a fixture directory against its gold records.

    DIRECTORY holds sites/<portal>/manifest.json and gold/<portal>/*.json.  Plain
    trafilatura is scored on the same pages for comparison.

    \b
    Example:
        portal-archive eval portal_archive/demo/fixtures
        portal-archive eval portal_archive/demo/fixtures --json
        portal-archive eval portal_archive/demo/fixtures --scramble-classes
        portal-archive eval portal_archive/demo/fixtures --cleaner-config strict.cfg
    """
    if not directory.is_dir():
        raise click.ClickException(f"not a directory: {directory}")
    options = cleaner_options(cleaner_config)
    try:
        result = evaluate(directory, scramble=scramble_classes, options=options)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise click.ClickException(f"cannot evaluate {directory}: {exc}") from exc
    ours, theirs = result["cleaners"], result["trafilatura"]
    if as_json:
        click.echo(json.dumps({
            "scramble_classes": scramble_classes,
            "summary": [asdict(s) for s in result["summary"]],
            "pages": [{"id": a.id, "cleaners": asdict(a), "trafilatura": asdict(b)}
                      for a, b in zip(ours, theirs, strict=True)]}, ensure_ascii=False,
            indent=1))
        return
    rows = []
    yn = {True: "ok", False: "NO"}
    for a, b in zip(ours, theirs, strict=True):
        rows.append([a.id, f"{a.precision:.3f}", f"{a.recall:.3f}", f"{a.f1:.3f}",
                     str(a.boilerplate), str(a.captions), yn[a.title], yn[a.date],
                     yn[a.author], a.extractor or "-", f"| {b.f1:.3f}", str(b.boilerplate),
                     str(b.captions), yn[b.title], yn[b.date], yn[b.author]])
    print_table(["page", "P", "R", "F1", "boiler", "capt", "title", "date", "author", "engine",
                 "| tf F1", "tf boiler", "tf capt", "tf title", "tf date", "tf author"],
                rows, right=[*range(1, 9), *range(10, 16)])
    click.echo("")
    totals = []
    for s in result["summary"]:
        totals.append([s.name, str(s.pages), f"{s.precision:.3f}", f"{s.recall:.3f}",
                     f"{s.f1:.3f}", f"{s.min_f1:.3f}", str(s.boilerplate), str(s.captions),
                     f"{s.title}/{s.pages}", f"{s.date}/{s.pages}", f"{s.author}/{s.pages}"])
    print_table(["extractor", "pages", "P", "R", "F1", "min F1", "boilerplate", "captions",
                 "title", "date", "author"], totals, right=range(1, 11))
    engines = Counter(a.extractor for a in ours if a.extractor)
    click.echo("\ntext chosen by: " + ", ".join(f"{k} {v}" for k, v in sorted(engines.items()))
               + ("; class/id names scrambled" if scramble_classes else ""))
