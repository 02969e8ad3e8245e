"""The extraction pipeline: bytes -> decoded tree -> blocks -> Article (or None).

Stages: decode (decode.py) -> parse once -> metadata from <head> -> linearise the body
(blocks.py) -> find the content container -> title, sapo, body, captions, attachments,
author -> date (dates.py) -> non-article checks.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from urllib.parse import urljoin

from lxml import etree, html

from . import chrome, dates, families
from .blocks import BLOCK_TAGS, HEADINGS, Block, linearize
from .dates import DateHint
from .decode import decode
from .normalize import digest, norm
from .options import Options, default_options
from .template import HostTemplate

log = logging.getLogger(__name__)

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)
_DOC_LINK = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|rar|zip|7z|odt|ods)(?:$|[?#])", re.I)
_TITLE_CLASS = re.compile(r"title|tieu-?de|tieude|headline|heading", re.I)
_SAPO_CLASS = re.compile(r"sapo|summary|lead|chapeau|description|tom-?tat|tomtat|mo-?ta|intro",
                         re.I)
_AUTHOR_CLASS = re.compile(r"author|tac-?gia|tacgia|byline|writer|nguoi-?viet", re.I)
_DATE_CLASS = re.compile(r"date|time|ngay|thoi-?gian|publish|posted", re.I)
# Separators between a headline and the site name in <title>.
_TITLE_SEP = re.compile(r"\s+[-|–—:»]\s+")
_SITE_CLASS = re.compile(r"site-?(?:title|name)|logo|brand", re.I)
# The header clock ("Hôm nay: Thứ bảy, ngày 23/11/2026") prints the day of the crawl.
_CLOCK = re.compile(r"^(?:hôm nay|today|bây giờ)\b", re.I)
# A credit line: a few capitalised words, optionally with an organisation in parentheses,
# or "Theo ..." (Vietnamese "according to") naming the original publisher.
_CREDIT = re.compile(
    r"^(?:(?:theo|nguồn tin|bài(?: và ảnh)?|ảnh|tin(?: và ảnh)?|tin, ảnh|bài, ảnh|pv|ctv)\s*:?\s+)?"
    r"[A-ZĐÀ-Ỹ][\w.'’-]*(?:\s+[\w.'’&-]+){0,8}"
    # ... then the unit: "Nguyễn Văn A (TTVH)", "Nguyễn Văn A - Trung tâm Văn hóa, Thông tin".
    r"(?:\s*\([^)]{1,60}\)|\s+[-–]\s+[A-ZĐÀ-Ỹ][^.!?]{1,60})?\s*$", re.U)
_CREDIT_PREFIX = re.compile(r"^theo\s+\S", re.I)
# "Tác giả: Minh Anh": a labelled byline; the label is not part of the name.
_AUTHOR_LABEL = re.compile(r"^(?:tác giả|người viết|phóng viên|bài viết|người đăng)\s*:\s*",
                           re.I)
# "(7 hình)" after a gallery headline is a widget count, not part of the headline.
_PHOTO_COUNT = re.compile(r"\s*\(\d+\s*(?:hình|ảnh|photos?)\)\s*$", re.I)
_SENTENCE_END = re.compile(r"[.!?…:;]\"?$")
_ARTICLE_TYPE = re.compile(r"\barticle\b|NewsArticle|BlogPosting|Report", re.I)
_META_DATE_KEYS = ("article:published_time", "datepublished", "pubdate", "publishdate",
                   "dc.date.issued", "dcterms.issued", "og:published_time", "date",
                   "publish-date", "article.published", "dc.date.created", "sailthru.date")


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

    @property
    def text(self) -> str:
        """Body paragraphs joined by newlines."""
        return "\n".join(self.body)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict: every field plus ``text`` (the body joined)."""
        d = asdict(self)
        d["text"] = self.text
        return d


def parse(body: bytes, headers: Mapping[str, str] | None = None
          ) -> tuple[html.HtmlElement, str, str | None] | None:
    """Decode and parse once; None for bytes that are not an HTML document."""
    if not isinstance(body, (bytes, bytearray)) or not body.strip():
        return None
    head = body[:2048]
    # NUL bytes outside UTF-16 mean binary data (PDF, image), not a page.
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    if head.lstrip().startswith(b"%PDF"):
        return None
    text, encoding, conversion = decode(bytes(body), headers)
    if "<" not in text[:4096]:
        return None
    text = _XML_DECL.sub("", text)
    try:
        tree = html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None
    return tree, encoding, conversion


def page_blocks(tree: html.HtmlElement) -> list[Block]:
    """The text blocks of a parsed page's body, in document order."""
    root = tree.find("body")
    return linearize(root if root is not None else tree)


def extract(body: bytes, url: str, headers: Mapping[str, str] | None = None, *,
            template: HostTemplate | None = None, family_rules: bool = True,
            options: Options | None = None,
            date_hint: DateHint | tuple[str, str] | None = None,
            parsed: tuple[html.HtmlElement, str, str | None] | None = None,
            blocks: list[Block] | None = None) -> Article | None:
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
        extraction = _Extraction(tree, url or "", template, family_rules,
                                 options or default_options(), blocks)
        extraction.date_hint = hint
        return extraction.run(encoding, conversion)
    except Exception:  # a bad page must never stop a crawl; log it for debugging
        log.debug("extraction failed for %s", url, exc_info=True)
        return None


class _Extraction:
    """State of one page's extraction (the tree is parsed once and shared by all stages)."""

    def __init__(self, tree: html.HtmlElement, url: str, template: HostTemplate | None,
                 family_rules: bool, options: Options, blocks: list[Block] | None = None,
                 ) -> None:
        self.tree = tree
        self.url = url
        self.template = template
        self.opt = options
        self.family = families.detect(tree) if family_rules else None
        self.meta = _read_meta(tree)
        self.blocks = blocks if blocks is not None else page_blocks(tree)
        self.container: html.HtmlElement | None = None
        self.inside: set[int] = set()
        self.container_path: set[int] = set()
        self.date_hint: DateHint | None = None

    # -- orchestration -------------------------------------------------------------------
    def run(self, encoding: str, conversion: str | None) -> Article | None:
        container = self._family_element("content")
        if container is None:
            container = self._find_container()
        if container is None:
            return None
        self._set_container(container)
        content = [b for b in self.blocks if id(b.el) in self.inside]
        if not content:
            return None
        if self._is_listing(content):
            return None
        # The first real paragraph: headline and date line may sit inside the container
        # above it (old table layouts put everything in one cell).
        first = next((b for b in content if len(b.text) - b.link_chars >= 60), content[0])
        title_block = self._find_title(first.order)
        title = title_block.text if title_block is not None else self._meta_title()
        title = _PHOTO_COUNT.sub("", title or "")
        if not title:
            return None
        if title_block is not None and id(title_block.el) in self.inside:
            content = [b for b in content if b.order > title_block.order]
            if not content:
                return None
        # Without a headline block there is no safe span to read a visible date from.
        start = title_block.order + 1 if title_block is not None else first.order
        body, captions, attachments, tail_author = self._clean_body(content, title)
        summary = self._find_summary(start, min(content[0].order, first.order), body)
        if summary:  # the lead opens the body, once
            if summary in body:
                body.remove(summary)
            body.insert(0, summary)
        if sum(len(p) for p in body) < self.opt.min_body_chars and not (
                captions and body):
            return None
        author = tail_author or self._find_author(content[-1].order)
        published, source, raw = self._find_date(
            start, first.order, [b for b in content if b.order > first.order])
        if published is None and self.date_hint is not None and (
                self.date_hint.source == "listing" or self._declared_article()):
            published, source, raw = self.date_hint.date, self.date_hint.source, \
                self.date_hint.date
        if published is None and self.opt.require_date:
            return None
        return Article(
            title=title, published=published, date_source=source, date_raw=raw,
            author=author, category=self._category(), summary=summary, body=body,
            captions=captions, attachments=attachments, digest=digest(body),
            encoding=encoding, conversion=conversion, url=self.url)

    # -- helpers -------------------------------------------------------------------------
    def _family_element(self, kind: str) -> html.HtmlElement | None:
        if self.family is None:
            return None
        return families.first(self.tree, getattr(self.family, kind))

    def _blocks_of(self, el: html.HtmlElement) -> list[Block]:
        """Blocks inside ``el``, or the one block line that ``el`` (an inline element) is in."""
        ids = {id(x) for x in el.iter()}
        owner = el
        while owner is not None and owner.tag not in BLOCK_TAGS:
            owner = owner.getparent()
        return [b for b in self.blocks if id(b.el) in ids or b.el is owner]

    def _set_container(self, el: html.HtmlElement) -> None:
        self.container = el
        self.inside = {id(e) for e in el.iter()}
        self.container_path = {id(e) for e in el.iterancestors()} | {id(el)}

    def _is_chrome(self, b: Block) -> bool:
        """Chrome by class/id (unless that element holds the whole article), by wording, or
        by the host template."""
        if b.chrome_el is not None and id(b.chrome_el) not in self.container_path:
            return True
        if chrome.is_chrome_line(b.text):
            return True
        return self.template is not None and self.template.is_chrome(b.text)

    def _find_container(self) -> html.HtmlElement | None:
        """The element collecting most non-link prose (a text-density vote, as readability
        does): each prose block votes for its parent element, half for the grandparent."""
        scores: dict[int, float] = defaultdict(float)
        elements: dict[int, html.HtmlElement] = {}
        for b in self.blocks:
            if b.chrome_el is not None or b.row:
                continue
            prose = len(b.text) - b.link_chars
            if prose < self.opt.min_block_chars or b.link_chars > 0.3 * len(b.text):
                continue
            if chrome.is_chrome_line(b.text):
                continue
            if self.template is not None and self.template.is_chrome(b.text):
                continue
            el = b.el
            target = el if el.tag in ("div", "td", "article", "section", "main") else \
                el.getparent()
            if target is None:
                continue
            # Prose with sentence punctuation counts more than labels and menus.
            weight = prose * (1.0 + 0.5 * b.text.count(",") / max(1, len(b.text) / 80))
            scores[id(target)] += weight
            elements[id(target)] = target
            parent = target.getparent()
            if parent is not None:
                scores[id(parent)] += weight / 2
                elements[id(parent)] = parent
        if not scores:
            return None
        best = max(scores, key=scores.__getitem__)
        return elements[best]

    def _is_listing(self, content: list[Block]) -> bool:
        """Teaser lists: the container's prose is mostly teaser summaries (a prose block right
        after a headline that links to another page), or headline links dominate it."""
        own = self.url.split("#", 1)[0]
        teaser: set[int] = set()
        follow = 0
        for b in self.blocks:
            if b.chrome_el is not None:
                continue
            if len(b.text) >= 20 and b.link_chars >= 0.8 * len(b.text) and len(b.links) == 1 \
                    and urljoin(self.url, b.links[0][0]).split("#", 1)[0] != own:
                follow = 3
                continue
            if b.tag in HEADINGS:
                follow = 0
            if follow:
                follow -= 1
                if b.link_chars < 0.3 * len(b.text) and len(b.text) >= 50:
                    teaser.add(b.order)
                    follow = 0
        prose = [b for b in content if len(b.text) - b.link_chars >= self.opt.min_block_chars]
        prose_chars = sum(len(b.text) for b in prose)
        teaser_chars = sum(len(b.text) for b in prose if b.order in teaser)
        if prose_chars and teaser_chars > 0.3 * prose_chars:
            return True
        total = sum(len(b.text) for b in content) or 1
        linked = sum(b.link_chars for b in content)
        headlines = sum(1 for b in content for _, t in b.links if len(t) >= 20)
        return headlines >= self.opt.listing_links and linked / total > self.opt.max_link_ratio

    def _meta_title(self) -> str | None:
        for key in ("og:title", "twitter:title"):
            if self.meta.get(key):
                return self.meta[key]
        title = self.meta.get("<title>")
        if title and not (self.template and self.template.generic_title(title)):
            return _TITLE_SEP.split(title)[0]
        return None

    def _find_title(self, content_start: int) -> Block | None:
        fam = self._family_element("title")
        if fam is not None:
            found = self._blocks_of(fam)
            if found:
                return found[0]
        refs = {self.meta.get("og:title"), self.meta.get("twitter:title"),
                self.meta.get("<title>")}
        title_tag = self.meta.get("<title>") or ""
        # "Headline - with a dash | Site": the headline is a prefix cut at some separator,
        # and the last segment names the site (a site-name <h1> in the header is not it).
        cuts = list(_TITLE_SEP.finditer(title_tag))
        refs.update(title_tag[:m.start()] for m in cuts)
        site_names = {title_tag[cuts[-1].end():].lower()} if cuts else set()
        refs.discard(None)
        refs_low = {r.lower() for r in refs if r}
        best: tuple[float, Block] | None = None
        for b in self.blocks:
            if not (4 <= len(b.text) <= 300) or b.row or _is_date_line(b.text):
                continue
            tag = b.tag
            names = " ".join(b.el.get(a) or "" for a in ("class", "id", "itemprop"))
            score = 0.0
            if b.text.lower() in refs_low:
                score += 3
            if b.text.lower() in site_names or _SITE_CLASS.search(names):
                score -= 3
            if tag == "h1":
                score += 2
            elif tag in HEADINGS:
                score += 1
            if _TITLE_CLASS.search(names):
                score += 1.5
            if b.strong_chars >= 0.9 * len(b.text) and 15 <= len(b.text) <= 200 and \
                    not _SENTENCE_END.search(b.text):
                score += 1.5  # a bold line above the text: the headline of old layouts
            if score == 0:
                continue
            if b.text.isupper() and len(b.text.split()) <= 5 and b.text.lower() not in refs_low:
                score -= 1  # "KINH TẾ - XÃ HỘI": a section label above the headline
            if b.link_chars > 0.5 * len(b.text):
                score -= 3
            if b.order < content_start:
                score += 1 + (0.5 if content_start - b.order <= 6 else 0)
            elif id(b.el) in self.inside and b.order > content_start:
                score -= 0.5
            else:
                score -= 2
            if b.chrome_el is not None and id(b.chrome_el) not in self.container_path:
                score -= 2
            if self.template is not None and self.template.is_chrome(b.text):
                score -= 4
            if best is None or score > best[0]:
                best = (score, b)
        return best[1] if best is not None and best[0] >= 2 else None

    def _find_summary(self, start: int, end: int, body: list[str]) -> str | None:
        """Sapo: a prose block between the headline and the body (by class, or by length)."""
        fam = self._family_element("sapo")
        candidates = self.blocks[start:end]
        if fam is not None:
            candidates = self._blocks_of(fam)
        desc = (self.meta.get("description") or "").rstrip(". …")
        for b in candidates:
            if self._is_chrome(b) or b.link_chars > 0.3 * len(b.text) or not b.text:
                continue
            if dates.parse_text(b.text) and len(b.text) < 80:
                continue
            names = (b.el.get("class") or "") + " " + (b.el.get("id") or "")
            parent = b.el.getparent()
            pnames = "" if parent is None else (parent.get("class") or "")
            by_class = bool(_SAPO_CLASS.search(names + " " + pnames))
            by_meta = len(desc) > 30 and b.text.startswith(desc[:60])
            if fam is not None or by_class or by_meta or len(b.text) >= 120:
                return b.text
        return None

    def _clean_body(self, content: list[Block], title: str
                    ) -> tuple[list[str], list[str], list[dict[str, str]], str | None]:
        body: list[str] = []
        captions: list[str] = []
        attachments: list[dict[str, str]] = []
        after_image = False
        kept: list[Block] = []
        for b in content:
            if b.img and not b.text:
                after_image = True
                continue
            if not b.text or self._is_chrome(b) or b.text == title or _is_date_line(b.text):
                continue
            doc_links = [(h, t) for h, t in b.links if _DOC_LINK.search(h)]
            if doc_links:
                rest = b.text
                for href, text in doc_links:
                    attachments.append({"title": text or href.rsplit("/", 1)[-1],
                                        "url": urljoin(self.url, href)})
                    rest = rest.replace(text, "")
                if len(norm(rest)) < 15:
                    continue
            if b.link_chars > 0.7 * len(b.text) and b.links and not b.row:
                after_image = False
                continue  # a related-news link or a list of them inside the article box
            if self._is_caption(b, after_image):
                captions.append(b.text)
                after_image = b.img
                continue
            if b.img and b.in_figure:
                captions.append(b.text)
                continue
            after_image = False
            if len(b.text) >= 40 and b.text in body:
                continue  # a lead or paragraph printed twice by the CMS
            body.append(b.text)
            kept.append(b)
        author = None
        # Credit and source lines close the article: peel them off the end.
        while body:
            last, lb = body[-1], kept[-1]
            if chrome.SOURCE_LINE.match(last):
                body.pop(), kept.pop()
                continue
            if author is None and self._is_credit(lb):
                author = _AUTHOR_LABEL.sub("", last)
                body.pop(), kept.pop()
                continue
            break
        return body, captions, attachments, author

    def _is_caption(self, b: Block, after_image: bool) -> bool:
        if len(b.text) > self.opt.max_caption_chars:
            return False
        if b.caption_hint:
            return True
        if b.in_figure and not b.row:
            return True
        if not after_image and not b.img:
            return False
        italic = b.em_chars >= 0.8 * len(b.text)
        centered = b.align() == "center"
        in_table = b.el.tag in ("td", "th") or (b.el.getparent() is not None and
                                                 b.el.getparent().tag in ("td", "th"))
        return italic or centered or in_table

    def _is_credit(self, b: Block) -> bool:
        text = b.text
        if len(text) > self.opt.max_author_chars or b.links:
            return False
        styled = b.align() == "right" or b.strong_chars >= 0.8 * len(text) or (
            b.em_chars >= 0.8 * len(text))
        if _CREDIT_PREFIX.match(text):
            return styled or len(text.split()) <= 12
        label = _AUTHOR_LABEL.match(text)
        if label:
            return 0 < len(text[label.end():].split()) <= 8
        if not styled or _SENTENCE_END.search(text) and not text.endswith(")"):
            return False
        name = re.split(r"\s+[-–(]", text, maxsplit=1)[0]
        return bool(_CREDIT.match(text)) and len(name.split()) <= 8

    def _find_author(self, content_end: int) -> str | None:
        fam = self._family_element("author")
        if fam is not None:
            for b in self._blocks_of(fam):
                if b.text:
                    return b.text
        for b in self.blocks[content_end + 1:content_end + 4]:
            if not b.text:
                continue
            names = (b.el.get("class") or "") + " " + (b.el.get("id") or "")
            if chrome.SOURCE_LINE.match(b.text):
                continue
            if _AUTHOR_CLASS.search(names) or self._is_credit(b):
                if len(b.text) <= self.opt.max_author_chars and not chrome.is_chrome_line(
                        b.text):
                    return b.text
            break
        meta_author = self.meta.get("author")
        return meta_author or None

    def _find_date(self, start: int, end: int, after: list[Block]
                   ) -> tuple[str | None, str | None, str | None]:
        """Meta, then JSON-LD, then the visible line between headline and body (or a
        dateline closing the article), then the URL.  The header clock and teaser dates sit
        outside those spans and are never read."""
        text_date = text_raw = None
        fam = self._family_element("date")
        region = self.blocks[start:end]
        if fam is not None:
            raw = norm(fam.text_content())
            v = dates.parse_text(raw)
            if v:
                text_date, text_raw, region = v, raw, []
        for b in region:
            if b.link_chars > 0.5 * len(b.text or "x"):
                continue
            if self.template is not None and self.template.is_chrome(b.text):
                continue  # the header clock: same line on every page of the crawl
            if _CLOCK.match(b.text):
                continue
            t = b.el.find(".//time[@datetime]")
            v = dates.parse_iso(t.get("datetime", "")) if t is not None else None
            if v:
                text_date, text_raw = v, t.get("datetime")
                break
            v = dates.parse_text(b.text)
            if v:
                text_date, text_raw = v, b.text
                break
        for key in _META_DATE_KEYS:
            raw = self.meta.get(key)
            v = dates.parse_iso(raw) if raw else None
            if v:
                if text_date and len(text_date) > len(v) and text_date[:10] == v:
                    return text_date, "text", text_raw
                return v, "meta", raw
        raw = self.meta.get("ld:datePublished")
        v = dates.parse_iso(raw) if raw else None
        if v:
            return v, "json-ld", raw
        if text_date:
            return text_date, "text", text_raw
        v, raw = self._closing_dateline(after)
        if v:
            return v, "text", raw
        # A yearless "Chiều 12/12": take the year from the URL, a modified-time meta, or
        # the date the sitemap or listing gave this URL.
        year = dates.year_of(dates.from_url(self.url)) or dates.year_of(
            dates.parse_iso(self.meta.get("article:modified_time", "") or
                            self.meta.get("ld:dateModified", "") or "")) or (
            dates.year_of(self.date_hint.date) if self.date_hint else None)
        if year:
            for b in self.blocks[start:end + 3]:
                dm = dates.parse_day_month(b.text) if len(b.text) < 200 else None
                if dm:
                    v = dates.fmt(year, dm[1], dm[0])
                    if v:
                        return v, "text", b.text
        v = dates.from_url(self.url)
        if v:
            return v, "url", self.url
        return None, None, None

    def _closing_dateline(self, after: list[Block]) -> tuple[str | None, str | None]:
        """A "Ngày đăng: 18/04/2024" line printed under the article, before any list of
        other articles (whose dates belong to them)."""
        for b in after:
            if b.links or chrome.is_chrome_line(b.text) or (
                    b.chrome_el is not None and id(b.chrome_el) not in self.container_path):
                break
            if _is_date_line(b.text):
                return dates.parse_text(b.text), b.text
        return None, None

    def _declared_article(self) -> bool:
        """The page says it is an article: og:type, or a JSON-LD article type."""
        kinds = (self.meta.get("og:type") or "") + " " + self.meta.get("ld:@type", "")
        return bool(_ARTICLE_TYPE.search(kinds))

    def _category(self) -> str | None:
        section = self.meta.get("article:section")
        if section:
            return section
        # Last breadcrumb item that is not the home link.
        for el in self.tree.xpath("//*[contains(translate(@class,'BREADCUM','breadcum'),"
                                  "'breadcrumb')]"):
            items = [norm(a.text_content()) for a in el.iter("a")]
            items = [i for i in items if i and i.lower() not in ("trang chủ", "home")]
            if items:
                return items[-1]
        ld = self.meta.get("ld:articleSection")
        return ld or None


_DATE_BITS = re.compile(r"[\d/:.,|()\[\]+-]+|\bGMT\b", re.I)


def _is_date_line(text: str) -> bool:
    """A dateline ("Ngày đăng: 05/03/2025", "Thứ 4, 20/05/2020 | 10:12") is not body text."""
    if len(text) > 80 or not dates.parse_text(text):
        return False
    return len(_DATE_BITS.sub(" ", text).split()) <= 4


def _read_meta(tree: html.HtmlElement) -> dict[str, str]:
    """<meta> name/property values (lower-cased keys), <title>, and JSON-LD dates."""
    meta: dict[str, str] = {}
    head = tree.find("head")
    scope = head if head is not None else tree
    for m in scope.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        value = m.get("content")
        if key and value and key not in meta:
            meta[key] = norm(value)
    title = tree.findtext(".//title")
    if title:
        meta["<title>"] = norm(title)
    for s in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(s.text or "")
        except ValueError:
            continue
        for item in _ld_items(data):
            kind = item.get("@type")
            if isinstance(kind, str):
                meta["ld:@type"] = (meta.get("ld:@type", "") + " " + kind).strip()
            for key in ("datePublished", "dateModified", "articleSection", "headline"):
                value = item.get(key)
                if isinstance(value, str) and f"ld:{key}" not in meta:
                    meta[f"ld:{key}"] = norm(value)
            author = item.get("author")
            if isinstance(author, dict) and isinstance(author.get("name"), str):
                meta.setdefault("ld:author", norm(author["name"]))
    return meta


def _ld_items(data: object) -> list[dict]:
    if isinstance(data, list):
        return [d for item in data for d in _ld_items(item)]
    if isinstance(data, dict):
        items = [data]
        if isinstance(data.get("@graph"), list):
            items += [d for item in data["@graph"] for d in _ld_items(item)]
        return items
    return []
