"""The extraction pipeline, one stage per module, trafilatura-style:

    page.py       bytes -> decoded tree, <head> metadata, text blocks (once)
    container.py  the article box, by text density and structure
    headline.py   the headline;  dateline.py  the date;  byline.py  the author
    body.py       the text: chrome, related boxes, captions, attachments, credits
    fallback.py   trafilatura's choice of text where our box finder is unsure or finds none
    language.py   the language of the text

``extract`` runs them and says which engine chose the text (``Article.extractor``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from . import body as body_stage
from . import byline, container, dateline, dates, fallback, headline, language
from .blocks import Block
from .container import Container
from .dates import DateHint
from .normalize import digest, token_prf
from .options import Options, default_options
from .page import Page, Parsed, page_blocks, parse
from .template import HostTemplate

log = logging.getLogger(__name__)

_AGREE = 0.8  # token F1 between the two engines' texts from which they agree
_HELD = 0.9  # share of our text found in trafilatura's from which theirs holds ours
_SURE_SHARE = 0.5  # our box holds at least this share of the page's prose: no second opinion
_SENTENCE_END = re.compile(r"[.!?…]\"?$")
_SAPO_CLASS = re.compile(r"sapo|summary|lead|chapeau|description|tom-?tat|tomtat|mo-?ta|intro",
                         re.I)

__all__ = ["Article", "extract", "page_blocks", "parse"]


@dataclass(slots=True)
class Article:
    """A cleaned, dated article."""

    title: str
    published: str | None
    date_source: str | None
    date_raw: str | None
    author: str | None
    category: str | None
    summary: str | None
    body: list[str]
    captions: list[str] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    language: str = "vi"
    digest: str = ""
    encoding: str = "utf-8"
    conversion: str | None = None
    url: str = ""
    extractor: str = "cleaners"  # which engine chose the text: cleaners, trafilatura or both

    @property
    def text(self) -> str:
        """Body paragraphs joined by newlines."""
        return "\n".join(self.body)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict: every field plus ``text`` (the body joined)."""
        d = asdict(self)
        d["text"] = self.text
        return d


def extract(body: bytes, url: str, headers: Mapping[str, str] | None = None, *,
            template: HostTemplate | None = None, options: Options | None = None,
            date_hint: DateHint | tuple[str, str] | None = None,
            parsed: Parsed | None = None, blocks: list[Block] | None = None
            ) -> Article | None:
    """Extract the article of one archived page, or None when the page is not an article.

    ``date_hint`` is a date the crawl saw for this URL elsewhere: ``DateHint(date, source)``
    with source "sitemap" (its ``lastmod``) or "listing" (the date printed next to the link).
    A date the page prints wins; the hint picks among ambiguous ones (the year of a yearless
    "Chiều 12/12") and dates a page that prints none, with ``date_source`` set to the hint's
    source.  A sitemap's lastmod dates an undated page only when the page declares itself
    an article (og:type, JSON-LD type): contact pages and org charts are in sitemaps too.
    Never raises on bad input: undecodable or binary bytes give None.

    ``parsed`` is what :func:`parse` gave for ``body``, and ``blocks`` what
    :func:`page_blocks` gave for its tree, when the caller has them already (a crawler that
    also learns the host's template from the page).
    """
    hint = dates.check_hint(date_hint)  # a caller's mistake raises; a bad page never does
    try:
        parsed = parsed or parse(body, headers)
        if parsed is None:
            return None
        tree, encoding, conversion = parsed
        page = Page.build(tree, url or "", blocks)
        art = _Extraction(page, template, options or default_options(), hint).run()
        if art is not None:
            art.encoding, art.conversion = encoding, conversion
        return art
    except Exception:  # a bad page must never stop a crawl; log it for debugging
        log.debug("extraction failed for %s", url, exc_info=True)
        return None


def learn_from_articles(pages: Iterable[tuple[bytes, str]], options: Options | None = None
                        ) -> HostTemplate:
    """One host's template learned as a crawl learns it: each page read in turn with the
    template so far, and only the pages read as articles teaching it, once read. Listings
    and home pages tease the newest headlines and leads: learned from, they made an article
    read after them lose both as chrome."""
    opt = options or default_options()
    template = HostTemplate(share=opt.template_share, min_pages=opt.template_min_pages)
    for body, url in pages:
        parsed = parse(body)
        if parsed is not None and extract(body, url, template=template, options=opt,
                                          parsed=parsed) is not None:
            template.learn(parsed[0], url)
    return template


@dataclass(slots=True)
class _Draft:
    """One engine's reading of the page, before the two are compared."""

    box: Container
    text: body_stage.Text
    title: str
    title_block: Block | None
    start: int
    first: int
    content: list[Block]


class _Extraction:
    """One page through the stages."""

    def __init__(self, page: Page, template: HostTemplate | None, opt: Options,
                 hint: DateHint | None) -> None:
        self.page, self.template, self.opt, self.hint = page, template, opt, hint

    def run(self) -> Article | None:
        box = container.find(self.page, self.template, self.opt)
        ours = self._draft(box, None) if box is not None else None
        if ours is not None and ours is _LISTING:
            return None
        extractor = "cleaners"
        if ours is None or not self._enough(ours) or box.share < _SURE_SHARE:
            if ours is None and self._page_is_listing():
                return None
            chosen = fallback.select(self.page)
            theirs = self._draft(*chosen) if chosen is not None else None
            if theirs is _LISTING:
                theirs = None
            if theirs is not None and self._enough(theirs):
                if ours is not None and self._enough(ours):
                    extractor = _compare(ours, theirs)
                    if extractor == "trafilatura":
                        ours = theirs
                else:
                    ours, extractor = theirs, "trafilatura"
        if ours is None or not self._enough(ours):
            return None
        return self._article(ours, extractor)

    def _enough(self, d: _Draft) -> bool:
        chars = sum(len(p) for p in d.text.body)
        return chars >= self.opt.min_body_chars or bool(d.text.captions and d.text.body)

    def _page_is_listing(self) -> bool:
        return container.is_listing(self.page, [b for b in self.page.blocks
                                                if b.chrome_el is None], self.opt)

    def _draft(self, box: Container, content: list[Block] | None) -> _Draft | None:
        page = self.page
        if content is None:
            content = [b for b in page.blocks if box.holds(b)]
        if not content:
            return None
        if container.is_listing(page, content, self.opt):
            return _LISTING
        # The first real paragraph: headline and date line may sit inside the box above it
        # (old table layouts put everything in one cell).
        first = _first_paragraph(content)
        title_block = headline.find(page, box, first.order, self.template)
        title = headline.clean(title_block.text) if title_block is not None else (
            headline.from_meta(page.meta, self.template) or "")
        if not title:
            return None
        if title_block is not None and box.holds(title_block):
            content = [b for b in content if b.order > title_block.order]
            if not content:
                return None
            first = _first_paragraph(content)
        # Without a headline block there is no safe span to read a visible date from.
        start = title_block.order + 1 if title_block is not None else first.order
        text = body_stage.clean(page, content, title, box, self.template, self.opt)
        return _Draft(box, text, title, title_block, start, first.order, content)

    def _article(self, d: _Draft, extractor: str) -> Article | None:
        page, text = self.page, d.text
        body = text.body
        summary = self._summary(d)
        if summary:  # the lead opens the body, once
            if summary in body:
                body.remove(summary)
            body.insert(0, summary)
        published, source, raw = dateline.find(
            page, d.box, d.start, d.first,
            [b for b in d.content if b.order > d.first], self.template, self.hint)
        if published is None and self.opt.require_date:
            return None
        author = self._author(d)
        return Article(
            title=headline.capped(d.title), published=published, date_source=source, date_raw=raw,
            author=author, category=self._category(), summary=summary, body=body,
            captions=text.captions, attachments=text.attachments,
            language=language.detect(d.title, body), digest=digest(body), url=page.url,
            extractor=extractor)

    def _summary(self, d: _Draft) -> str | None:
        """Sapo: a prose block between the headline and the body (by class, by the meta
        description, or by length)."""
        page = self.page
        end = min(d.content[0].order, d.first)
        desc = (page.meta.get("description") or page.meta.get("og:description") or ""
                ).rstrip(". …")
        for b in page.blocks[d.start:end + 1]:
            if body_stage.is_chrome(b, d.box, self.template) or not b.text or \
                    b.link_chars > 0.3 * len(b.text):
                continue
            if dates.parse_text(b.text) and len(b.text) < 80:
                continue
            parent = b.el.getparent()
            names = " ".join(x.get(a) or "" for x in (b.el, parent) if x is not None
                             for a in ("class", "id"))
            by_class = bool(_SAPO_CLASS.search(names))
            by_meta = len(desc) > 30 and b.text.startswith(desc[:60])
            if b.order < end:
                # A lead is sentences: a label or a byline over the text is not one.
                lead = len(b.text) >= 120 or (len(b.text) >= 60 and _SENTENCE_END.search(b.text))
                if by_class or by_meta or lead:
                    return b.text
            elif by_class or _alone_in_part(b, d.box):
                return b.text  # the box's first paragraph, set apart as a lead
        return None

    def _author(self, d: _Draft) -> str | None:
        page = self.page
        last = d.content[-1].order
        after = page.blocks[last + 1:last + 4]
        printed = d.text.credit
        if printed is None:
            for b in after:
                if not b.text:
                    continue
                if b.links or len(b.text) > self.opt.max_author_chars:
                    break
                if byline.is_placeholder(b.text):
                    continue
                if byline.is_credit(b, self.opt.max_author_chars) or _author_class(b):
                    printed = byline.clean_name(b.text)
                break
        near = page.blocks[max(0, d.start - 1):d.first] + after
        return byline.choose(printed, near, page.meta.ld_authors, page.meta.get("author"),
                             page.meta.site_names)

    def _category(self) -> str | None:
        meta = self.page.meta
        section = meta.get("article:section")
        if section:
            return section
        # Last breadcrumb item that is not the home link.
        for el in self.page.tree.xpath(
                "//*[contains(translate(@class,'BREADCUM','breadcum'),'breadcrumb')]"):
            items = [a.text_content().strip() for a in el.iter("a")]
            items = [i for i in items if i and i.lower() not in ("trang chủ", "home")]
            if items:
                return " ".join(items[-1].split())
        return meta.ld.get("articleSection") or None


_LISTING = object()  # a draft that found a listing: the page is not an article


def _compare(ours: _Draft, theirs: _Draft) -> str:
    """Which text to keep when both engines read an unsure page: both agree; or theirs holds
    ours and more (our box was one part of a text spread over several); or ours."""
    mine, other = "\n".join(ours.text.body), "\n".join(theirs.text.body)
    inside, _, f1 = token_prf(mine, other)  # precision of ours against theirs
    if f1 >= _AGREE:
        return "both"
    if inside >= _HELD and len(other) > len(mine):
        return "trafilatura"
    return "cleaners"


def _first_paragraph(content: list[Block]) -> Block:
    return next((b for b in content if len(b.text) - b.link_chars >= 60), content[0])


def _alone_in_part(b: Block, box: Container) -> bool:
    """``b`` is all the text of one of the siblings the box was merged from."""
    if len(box.elements) < 2:
        return False
    for el in box.elements:
        if el is b.el or any(x is b.el for x in el.iterdescendants()):
            return len(el.text_content().strip()) <= len(b.text) + 20
    return False


def _author_class(b: Block) -> bool:
    names = ((b.el.get("class") or "") + " " + (b.el.get("id") or "")).lower()
    return any(w in names for w in ("author", "tac-gia", "tacgia", "byline", "writer"))
