"""Stage 3a: the headline, by agreement and position.

A headline agrees with what the page declares (og:title, JSON-LD headline, <title>), sits just
above the text and its dateline, and is the page's main heading or a bold line; a class word
adds a little. A portlet or section heading ("Xuất bản thông tin") above the real headline,
the site's name, and a stray template token ("null") are not the headline.
"""

from __future__ import annotations

import re

from . import dates
from .blocks import HEADINGS, Block
from .container import Container
from .metadata import TITLE_SEP, Meta
from .page import Page
from .template import HostTemplate

_TITLE_CLASS = re.compile(r"title|tieu-?de|tieude|headline|heading", re.I)
_SITE_CLASS = re.compile(r"site-?(?:title|name)|logo|brand", re.I)
_SENTENCE_END = re.compile(r"[.!?…:;]\"?$")
# "(7 hình)" after a gallery headline is a widget count, not part of the headline.
_PHOTO_COUNT = re.compile(r"\s*\(\d+\s*(?:hình|ảnh|photos?)\)\s*$", re.I)
# A template variable that printed nothing: "null Tiêu đề bài viết".
_STRAY = re.compile(r"^(?:null|undefined|none|nan)\s+|\s+(?:null|undefined)$", re.I)
# Headings CMSs print over every article box: portlet titles and generic section names.
_GENERIC = re.compile(
    r"^(?:xuất bản (?:thông tin|nội dung)|asset publisher|chi tiết(?: tin(?: tức)?| bài viết)?"
    r"|nội dung(?: chi tiết)?|tin tức(?: - sự kiện| sự kiện)?|hot news|news|tin bài"
    r"|bài viết|thông tin|web content display|hiển thị nội dung)$", re.I)
_DATE_BITS = re.compile(r"[\d/:.,|()\[\]+-]+|\b(?:GMT|AM|PM|SA|CH)\b", re.I)


MAX_LENGTH = 500  # characters: the longest headline kept (a page's <h1> may hold megabytes)


def capped(title: str) -> str:
    """``title`` cut, at a word, to ``MAX_LENGTH`` characters (with an ellipsis)."""
    if len(title) <= MAX_LENGTH:
        return title
    return title[:MAX_LENGTH - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


def clean(title: str) -> str:
    """A headline without a stray template token or a photo count."""
    return _PHOTO_COUNT.sub("", _STRAY.sub("", title)).strip()


def is_date_line(text: str) -> bool:
    """A dateline ("Ngày đăng: 05/03/2025", "Thứ 4, 20/05/2020 | 10:12") is not body text."""
    if len(text) > 80 or not dates.parse_text(text):
        return False
    return len(_DATE_BITS.sub(" ", text).split()) <= 4


def from_meta(meta: Meta, template: HostTemplate | None) -> str | None:
    """The declared headline when no block of the page is one."""
    for value in (meta.get("og:title"), meta.get("twitter:title"), meta.ld.get("headline")):
        if value and not _GENERIC.match(value):
            return value
    title = meta.title
    if title and not (template and template.generic_title(title)):
        return TITLE_SEP.split(title)[0]
    return None


def find(page: Page, box: Container, start: int, template: HostTemplate | None
         ) -> Block | None:
    """The headline block: scored by agreement with the declared titles, heading level,
    boldness, position just above the text (``start``) and next to a dateline."""
    refs, site_names = page.meta.title_refs()
    best: tuple[float, Block] | None = None
    for b in page.blocks:
        score = _score(page.blocks, b, box, start, template, refs, site_names)
        if score is not None and (best is None or score > best[0]):
            best = (score, b)
    return best[1] if best is not None and best[0] >= 2 else None


def _score(blocks: list[Block], b: Block, box: Container, start: int,
           template: HostTemplate | None, refs: set[str], site_names: set[str]
           ) -> float | None:
    """How much ``b`` looks like the headline; None for a line that cannot be one, or that
    nothing speaks for."""
    text = clean(b.text)
    if not (4 <= len(text) <= 300) or b.row or is_date_line(text):
        return None
    low = text.lower()
    score = _declared(b, text, low, refs, site_names)
    near, dated = _nearness(blocks, b, text, start)
    if dated:
        score += 1.5  # the line right over the dateline
    if score == 0 and not near:
        return None
    score += _doubts(b, text, low, refs) + _placement(b, box, start, near)
    if template is not None and template.is_chrome(b.text) and not dated:
        # A line on most pages of the host is furniture, unless it heads this page's
        # dateline: early in a crawl the headline is on most pages seen, as a teaser link.
        score -= 4
    return score


def _declared(b: Block, text: str, low: str, refs: set[str], site_names: set[str]) -> float:
    """What the page says of the line: a declared title, the site's name, a heading, a
    title-classed element, a bold line."""
    names = " ".join(b.el.get(a) or "" for a in ("class", "id", "itemprop"))
    score = 0.0
    if low in refs:
        score += 3
    if low in site_names or _SITE_CLASS.search(names):
        score -= 3
    if b.tag == "h1":
        score += 2
    elif b.tag in HEADINGS:
        score += 1
    if _TITLE_CLASS.search(names):
        score += 1
    if b.strong_chars >= 0.9 * len(b.text) and 15 <= len(text) <= 200 and \
            not _SENTENCE_END.search(text):
        score += 1.5  # a bold line above the text: the headline of old layouts
    return score


def _nearness(blocks: list[Block], b: Block, text: str, start: int) -> tuple[bool, bool]:
    """(near, dated): a headline-like line a few lines above the text, and one right over a
    dateline."""
    headline_like = len(text) <= 200 and not text.endswith(".")
    near = headline_like and b.order <= start and start - b.order <= 6
    dated = near and any(is_date_line(n.text) for n in blocks[b.order + 1:b.order + 3])
    return near, dated


def _doubts(b: Block, text: str, low: str, refs: set[str]) -> float:
    """A generic heading, a section label, a link: lines that only look like headlines."""
    score = 0.0
    if _GENERIC.match(text) and low not in refs:
        score -= 2.5
    if text.isupper() and len(text.split()) <= 5 and low not in refs:
        score -= 1  # "KINH TẾ - XÃ HỘI": a section label above the headline
    if b.link_chars > 0.5 * len(b.text):
        score -= 3
    return score


def _placement(b: Block, box: Container, start: int, near: bool) -> float:
    """Above the text is where a headline is; inside the article box, less so; elsewhere, or
    in chrome outside the box, not."""
    score = 0.0
    if b.order <= start:
        score += 1 + (0.5 if near else 0)
    elif box.holds(b) and b.order > start:
        score -= 0.5
    else:
        score -= 2
    if b.chrome_el is not None and id(b.chrome_el) not in box.path:
        score -= 1
    return score
