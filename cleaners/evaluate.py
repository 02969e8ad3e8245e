"""Score extraction against the gold records of a fixture directory.

Layout: ``DIR/index.json`` (optional), ``DIR/sites/<portal>/manifest.json`` and
``DIR/gold/<portal>/<id>.json``.  Body scoring is on NFC, whitespace-split tokens as
multisets.  A gold boilerplate string (or caption) "leaks" when it occurs in the extracted
text more often than in the gold body text, so a menu word that is also used in the article
("Nông thôn mới") is not counted against a correct extraction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import trafilatura

from .core import extract, learn_from_articles
from .normalize import norm, token_prf
from .options import Options
from .scramble import scramble_classes
from .template import HostTemplate


@dataclass(slots=True)
class PageScore:
    """One page scored for one extractor."""

    id: str
    precision: float
    recall: float
    f1: float
    boilerplate: int
    captions: int
    title: bool
    date: bool
    author: bool
    leaked: list[str] = field(default_factory=list)
    extractor: str | None = None  # which engine chose the text (None: no article)


def _leaks(strings: list[str], got: str, gold_text: str) -> list[str]:
    out = []
    for s in strings:
        s = norm(s)
        if s and got.count(s) > gold_text.count(s):
            out.append(s)
    return out


def score(gid: str, gold: dict, title: str | None, published: str | None,
          author: str | None, text: str, extractor: str | None = None) -> PageScore:
    """Compare one extraction with its gold record."""
    text = norm(text)
    gold_text = norm(" ".join(gold["body"]))
    p, r, f = token_prf(text, gold_text)
    leaked = _leaks(gold.get("boilerplate", []), text, gold_text)
    caps = _leaks(gold.get("captions", []), text, gold_text)
    return PageScore(
        id=gid, precision=p, recall=r, f1=f, boilerplate=len(leaked), captions=len(caps),
        title=norm(title or "") == norm(gold["title"]),
        date=_same_date(published, gold.get("published")),
        author=norm(author or "") == norm(gold.get("author") or ""), leaked=leaked + caps,
        extractor=extractor if text else None)


def _same_date(got: str | None, want: str | None) -> bool:
    if not got or not want:
        return got == want
    # "T10:12+07:00" and "T10:12:00+07:00" are the same moment.
    return got.replace(":00+", "+") == want.replace(":00+", "+") or got == want


@dataclass(slots=True)
class Page:
    """One gold article page with its bytes and the host's other pages."""

    id: str
    portal: str
    url: str
    body: bytes
    headers: dict[str, str]
    gold: dict


def load(directory: str | Path) -> tuple[list[Page], dict[str, list[tuple[bytes, str]]]]:
    """Gold pages and, per portal, every HTML page of the site (for template learning)."""
    root = Path(directory)
    sites = root / "sites"
    gold_dir = root / "gold"
    if not sites.is_dir() or not gold_dir.is_dir():
        raise FileNotFoundError(f"{root} has no sites/ and gold/ folders")
    pages: list[Page] = []
    site_pages: dict[str, list[tuple[bytes, str]]] = {}
    for manifest_path in sorted(sites.glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        portal = manifest_path.parent.name
        base = manifest.get("base_url", f"http://{portal}.test")
        seen: set[str] = set()
        site_pages[portal] = []
        for path, entry in manifest.get("urls", {}).items():
            f = entry.get("file")
            if not f or entry.get("status") != 200 or "html" not in entry.get(
                    "content_type", "text/html") or f in seen:
                continue
            seen.add(f)
            site_pages[portal].append(((manifest_path.parent / f).read_bytes(), base + path))
        for gold_path in sorted((gold_dir / portal).glob("*.json")):
            gold = json.loads(gold_path.read_text(encoding="utf-8"))
            page = gold["page"]
            charset = page.get("charset")
            ctype = page.get("content_type", "text/html")
            headers = {"Content-Type": f"{ctype}; charset={charset}" if charset else ctype}
            pages.append(Page(gold.get("id", gold_path.stem), portal, gold["url"],
                              (root / page["file"]).read_bytes(), headers, gold))
    if not pages:
        raise FileNotFoundError(f"no gold records under {gold_dir}")
    return pages, site_pages


def templates_for(site_pages: dict[str, list[tuple[bytes, str]]],
                  options: Options | None = None) -> dict[str, HostTemplate]:
    """One template per portal, learned from its pages as a crawl learns it."""
    return {portal: learn_from_articles(items, options) for portal, items in site_pages.items()}


def run_cleaners(pages: list[Page], templates: dict[str, HostTemplate],
                 options: Options | None = None) -> list[PageScore]:
    """Score ``cleaners.extract`` on every gold page."""
    out = []
    for page in pages:
        art = extract(page.body, page.url, page.headers, template=templates.get(page.portal),
                      options=options)
        if art is None:
            out.append(score(page.id, page.gold, None, None, None, ""))
        else:
            out.append(score(page.id, page.gold, art.title, art.published, art.author,
                             art.text, art.extractor))
    return out


def run_trafilatura(pages: list[Page]) -> list[PageScore]:
    """Score plain trafilatura (default settings) on the same pages."""
    out = []
    for page in pages:
        text = trafilatura.extract(page.body, url=page.url, output_format="txt") or ""
        doc = trafilatura.bare_extraction(page.body, url=page.url, with_metadata=True)
        title = getattr(doc, "title", None) if doc is not None else None
        date = getattr(doc, "date", None) if doc is not None else None
        author = getattr(doc, "author", None) if doc is not None else None
        out.append(score(page.id, page.gold, title, date, author, text, "trafilatura"))
    return out


@dataclass(slots=True)
class Summary:
    """Overall figures of one extractor."""

    name: str
    pages: int
    precision: float
    recall: float
    f1: float
    min_f1: float
    boilerplate: int
    captions: int
    title: int
    date: int
    author: int


def summarise(name: str, scores: list[PageScore]) -> Summary:
    """Micro-averaged P/R/F1 are close to page means here; we report page means."""
    n = len(scores) or 1
    return Summary(
        name=name, pages=len(scores), precision=sum(s.precision for s in scores) / n,
        recall=sum(s.recall for s in scores) / n, f1=sum(s.f1 for s in scores) / n,
        min_f1=min((s.f1 for s in scores), default=0.0),
        boilerplate=sum(s.boilerplate for s in scores),
        captions=sum(s.captions for s in scores), title=sum(s.title for s in scores),
        date=sum(s.date for s in scores), author=sum(s.author for s in scores))


def scrambled(pages: list[Page], site_pages: dict[str, list[tuple[bytes, str]]]
              ) -> tuple[list[Page], dict[str, list[tuple[bytes, str]]]]:
    """The same pages with every class/id token renamed, consistently per host."""
    def host(url: str) -> str:
        return urlsplit(url).hostname or ""

    return ([replace(p, body=scramble_classes(p.body, host(p.url))) for p in pages],
            {portal: [(scramble_classes(b, host(u)), u) for b, u in items]
             for portal, items in site_pages.items()})


def evaluate(directory: str | Path, progress: Callable[[str], None] | None = None, *,
             scramble: bool = False, options: Options | None = None) -> dict[str, object]:
    """Score cleaners and plain trafilatura on a fixture directory (``scramble``: with every
    class and id renamed, as on a CMS never seen; ``options``: cleaner options other than the
    shipped settings.cfg)."""
    pages, site_pages = load(directory)
    if scramble:
        pages, site_pages = scrambled(pages, site_pages)
    if progress:
        progress(f"{len(pages)} gold pages, {sum(map(len, site_pages.values()))} site pages")
    templates = templates_for(site_pages, options)
    ours = run_cleaners(pages, templates, options)
    theirs = run_trafilatura(pages)
    return {"pages": [p.id for p in pages], "cleaners": ours, "trafilatura": theirs,
            "summary": [summarise("cleaners", ours), summarise("trafilatura", theirs)],
            "hosts": sorted({urlsplit(p.url).hostname or "" for p in pages})}
