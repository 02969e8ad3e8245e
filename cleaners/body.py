"""Stage 4: the article's text from the blocks of its box.

Dropped: page furniture by wording (counters, "Tin liên quan", share bars) or by the host
template, datelines, the headline printed again, link lists, and related-article boxes as a
unit (a headline linking elsewhere with its unlinked teaser lines). Captions are kept apart,
except in a photo story, whose captions are its text. Attachments are collected; credit and
source lines are peeled off the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml import html

from . import byline, chrome
from .blocks import Block
from .container import Container, is_teaser_headline
from .headline import is_date_line
from .normalize import norm
from .options import Options
from .page import Page
from .template import HostTemplate

_DOC_LINK = re.compile(r"\.(?:pdf|docx?|xlsx?|pptx?|rar|zip|7z|odt|ods)(?:$|[?#])", re.I)
_SENTENCE = re.compile(r"[.!?…]")
_TEASER_LINES = 3  # unlinked lines a related-article unit carries under its headline
_PHOTO_STORY = 0.5  # share of the text inside figures from which captions are the story


@dataclass(slots=True)
class Text:
    """What the body stage keeps of the box."""

    body: list[str] = field(default_factory=list)
    kept: list[Block] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    caption_blocks: list[Block] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    credit: str | None = None


def is_chrome(b: Block, box: Container, template: HostTemplate | None) -> bool:
    """Furniture by wording or by the host template; by a class word only when the line is
    not prose (the class word is a hint, never a veto on article text)."""
    if chrome.is_chrome_line(b.text):
        return True
    if template is not None and template.is_chrome(b.text):
        return True
    if b.chrome_el is not None and id(b.chrome_el) not in box.path:
        return not is_prose(b)
    return False


def is_prose(b: Block) -> bool:
    """A sentence or more of unlinked text."""
    return (len(b.text) - b.link_chars >= 80 and b.link_chars < 0.3 * len(b.text)
            and bool(_SENTENCE.search(b.text)))


def teaser_units(content: list[Block], box: Container, url: str) -> set[int]:
    """Orders of the blocks of related-article units inside the box: the smallest element
    around a headline that links elsewhere, when it holds only that headline, an image and a
    few unlinked teaser lines."""
    drop: set[int] = set()
    by_el: dict[int, list[Block]] = {}
    for b in content:
        by_el.setdefault(id(b.el), []).append(b)
    boxes = {id(e) for e in box.elements}
    for b in content:
        if b.order in drop or not is_teaser_headline(b, url):
            continue
        unit = _unit_of(b.el, boxes)
        if unit is None:
            continue
        inside = [x for x in content if _within(x.el, unit)]
        lines = [x for x in inside if x.text and x is not b]
        if len(lines) <= _TEASER_LINES and all(
                x.link_chars < 0.3 * len(x.text) or is_teaser_headline(x, url) for x in lines):
            drop.update(x.order for x in inside)
    return drop


def _unit_of(el: html.HtmlElement, boxes: set[int]) -> html.HtmlElement | None:
    """The smallest ancestor of ``el`` with text besides ``el``'s, below the box."""
    own = norm(el.text_content())
    node = el
    while True:
        parent = node.getparent()
        if parent is None or id(parent) in boxes:
            return None
        node = parent
        if len(norm(node.text_content())) > len(own) + 10:
            return node


def _within(el: html.HtmlElement, ancestor: html.HtmlElement) -> bool:
    node = el
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def is_caption(b: Block, after_image: bool, opt: Options) -> bool:
    if len(b.text) > opt.max_caption_chars:
        return False
    if b.caption_hint or (b.in_figure and not b.row):
        return True
    if not after_image and not b.img:
        return False
    italic = b.em_chars >= 0.8 * len(b.text)
    centered = b.align() == "center"
    parent = b.el.getparent()
    in_table = b.el.tag in ("td", "th") or (parent is not None and parent.tag in ("td", "th"))
    return italic or centered or in_table


def clean(page: Page, content: list[Block], title: str, box: Container,
          template: HostTemplate | None, opt: Options) -> Text:
    """The body, captions, attachments and closing credit of the blocks ``content``."""
    out = Text()
    teasers = teaser_units(content, box, page.url)
    after_image = False
    for b in content:
        if b.img and not b.text:
            after_image = True
            continue
        if not b.text or b.order in teasers or is_chrome(b, box, template) or \
                b.text == title or is_date_line(b.text):
            continue
        doc_links = [(h, t) for h, t in b.links if _DOC_LINK.search(h)]
        if doc_links:
            rest = b.text
            for href, text in doc_links:
                out.attachments.append({"title": text or href.rsplit("/", 1)[-1],
                                        "url": urljoin(page.url, href)})
                rest = rest.replace(text, "")
            if len(norm(rest)) < 15:
                continue
        if b.link_chars > 0.7 * len(b.text) and b.links and not b.row:
            after_image = False
            continue  # a related-news link or a list of them inside the article box
        if is_caption(b, after_image, opt) or (b.img and b.in_figure):
            out.captions.append(b.text)
            out.caption_blocks.append(b)
            after_image = b.img and not b.in_figure
            continue
        after_image = False
        if len(b.text) >= 40 and b.text in out.body:
            continue  # a lead or paragraph printed twice by the CMS
        out.body.append(b.text)
        out.kept.append(b)
    _photo_story(out, opt)
    out.credit = peel_credits(out.body, out.kept, opt)
    return out


def _photo_story(out: Text, opt: Options) -> None:
    """A photo story tells its story in the captions of its photos: when most of the text
    sits in figures, the captions are the body."""
    if len(out.captions) < 3:
        return
    in_figures = sum(len(c) for c in out.captions) + sum(
        len(b.text) for b in out.kept if b.in_figure)
    total = sum(len(c) for c in out.captions) + sum(len(p) for p in out.body)
    if in_figures >= _PHOTO_STORY * total:
        merged = sorted(zip(out.kept + out.caption_blocks, out.body + out.captions, strict=True),
                        key=lambda kb: kb[0].order)
        out.kept = [k for k, _ in merged]
        out.body = [t for _, t in merged]
        out.captions, out.caption_blocks = [], []


def peel_credits(body: list[str], kept: list[Block] | None, opt: Options) -> str | None:
    """Take source notes, CMS accounts and credit lines off the end of ``body`` (in place);
    the first credit found (the last printed) is returned."""
    credit = None
    while body:
        last = body[-1]
        block = kept[-1] if kept else None
        if chrome.SOURCE_LINE.match(last) or byline.is_placeholder(last):
            pass
        elif credit is None and (byline.is_credit(block, opt.max_author_chars) if block
                                 else _is_credit_text(last, opt)):
            credit = byline.clean_name(last)
        else:
            break
        body.pop()
        if kept:
            kept.pop()
    return credit


def _is_credit_text(text: str, opt: Options) -> bool:
    block = Block(text, html.Element("p"), 0)
    return byline.is_credit(block, opt.max_author_chars)

