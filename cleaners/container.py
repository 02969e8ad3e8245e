"""Stage 2: the article box, found by structure.

Prose blocks vote for the element that holds them (a text-density vote, as readability
does); votes pass through figure/figcaption wrappers so a photo story's text reaches the box
that holds all its photos; siblings the CMS split around a player or an ad are merged. A
class word is only a hint: it halves a block's vote, it never removes the only dense text.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml import html

from . import chrome
from .blocks import HEADINGS, Block
from .options import Options
from .page import Page
from .template import HostTemplate

# Elements a vote passes through on its way to the article box: a paragraph's own element,
# inline wrappers, and the figure markup of a photo.
_TRANSPARENT = frozenset({"p", "figure", "figcaption", "picture", "span", "font", "em", "i",
                          "strong", "b", "a", "u", "small", "center", "blockquote", "h2", "h3",
                          "h4", "h5", "h6", "li", "ul", "ol", "pre", "address", "tbody", "tr",
                          "thead", "dl", "dd", "dt"})
_SENTENCE = re.compile(r"[.!?…]")
_CLASS_HINT = 0.5   # a chrome-like class word halves a block's vote
_SPLIT_SHARE = 0.2  # a sibling with this share of the box's sentences is the same article
_TEASER_SHARE = 0.3  # teaser summaries making up more of the box's prose: a listing
_TEASER_UNIT = 5  # text blocks of one teaser: headline, date, category, summary, more


@dataclass(slots=True)
class Container:
    """The article box: one element, or a run of siblings the CMS split the text into."""

    elements: list[html.HtmlElement]
    score: float
    share: float  # of all voting prose on the page
    inside: set[int] = field(default_factory=set)
    path: set[int] = field(default_factory=set)  # ids of the box's elements and ancestors

    def __post_init__(self) -> None:
        for el in self.elements:
            self.inside.update(id(e) for e in el.iter())
            self.path.update(id(e) for e in el.iterancestors())
            self.path.add(id(el))

    def holds(self, b: Block) -> bool:
        return id(b.el) in self.inside


def prose_weight(b: Block, opt: Options, template: HostTemplate | None) -> float:
    """How much a block says that it is article text (0 for menus, labels, link lists)."""
    if b.row:
        return 0.0
    prose = len(b.text) - b.link_chars
    if prose < opt.min_block_chars or b.link_chars > 0.3 * len(b.text):
        return 0.0
    if chrome.is_chrome_line(b.text) or (template is not None and template.is_chrome(b.text)):
        return 0.0
    # Prose with sentence punctuation counts more than labels and menus.
    weight = prose * (1.0 + 0.5 * b.text.count(",") / max(1, len(b.text) / 80))
    return weight * _CLASS_HINT if b.chrome_el is not None else weight


def _vote_target(el: html.HtmlElement) -> html.HtmlElement | None:
    target = el
    while target is not None and (target.tag in _TRANSPARENT or not isinstance(target.tag, str)):
        target = target.getparent()
    return target


def find(page: Page, template: HostTemplate | None, opt: Options) -> Container | None:
    """The element collecting most prose, merged with the siblings that continue it."""
    scores: dict[int, float] = defaultdict(float)
    elements: dict[int, html.HtmlElement] = {}
    own: dict[int, float] = defaultdict(float)  # sentences inside each element's subtree
    seen: dict[int, int] = defaultdict(int)  # visible characters inside each element
    # lxml makes a new proxy object for an element nobody holds, so ids are only stable for
    # elements kept alive: hold every ancestor while the ids are in use.
    alive: dict[int, html.HtmlElement] = {}
    weighted: list[tuple[Block, float]] = []
    total = 0.0
    for b in page.blocks:
        for anc in b.el.iterancestors():
            alive[id(anc)] = anc
            seen[id(anc)] += len(b.text)
        seen[id(b.el)] += len(b.text)
        weight = prose_weight(b, opt, template)
        if not weight:
            continue
        weighted.append((b, weight))
        total += weight
        target = _vote_target(b.el)
        if target is None:
            continue
        scores[id(target)] += weight
        elements[id(target)] = target
        parent = target.getparent()
        if parent is not None:
            scores[id(parent)] += weight / 2
            elements[id(parent)] = parent
        # Only sentences continue an article: a headline-like line does not merge a sibling.
        sentences = weight if _SENTENCE.search(b.text) and len(b.text) >= 80 else 0.0
        own[id(b.el)] += sentences
        for anc in b.el.iterancestors():
            own[id(anc)] += sentences
    if not scores:
        return None
    best = elements[max(scores, key=scores.__getitem__)]
    run = _merge_siblings(best, own, seen)
    box = Container(run, scores[id(best)], 0.0)
    box.share = sum(w for b, w in weighted if box.holds(b)) / total
    return box


def _merge_siblings(best: html.HtmlElement, own: dict[int, float], seen: dict[int, int]
                    ) -> list[html.HtmlElement]:
    """``best`` and the siblings on either side that carry more of the same prose, stepping
    over what holds none (a video player, an ad slot, an image)."""
    parent = best.getparent()
    # A wrapper holding nothing but the box stands for it ("block" editors wrap every
    # paragraph twice): merge at the level where the text's siblings are.
    while parent is not None and parent.tag != "body" and seen[id(parent)] == seen[id(best)]:
        best, parent = parent, parent.getparent()
    if parent is None:
        return [best]
    siblings = [c for c in parent if isinstance(c.tag, str)]
    at = siblings.index(best)
    keep = {at}
    floor = _SPLIT_SHARE * own[id(best)]
    for step in (-1, 1):
        i = at + step
        while 0 <= i < len(siblings):
            sib = siblings[i]
            weight = own[id(sib)]
            if weight >= floor and weight > 0 and not _link_heavy(sib):
                keep.add(i)
            elif weight == 0 and seen[id(sib)] <= 80:
                pass  # a gap: player, ad slot, picture, empty wrapper
            else:
                break
            i += step
    return [siblings[i] for i in sorted(keep)]


def _link_heavy(el: html.HtmlElement) -> bool:
    text = len(el.text_content())
    linked = sum(len(a.text_content()) for a in el.iter("a"))
    return text > 0 and linked > 0.5 * text


def is_listing(page: Page, content: list[Block], opt: Options) -> bool:
    """Teaser lists: the box's prose is mostly teaser summaries (a prose block that shares a
    small element with a headline linking to another page), or headline links dominate it."""
    own = page.url.split("#", 1)[0]
    lines = _text_blocks_per_element(page.blocks)
    teaser: set[int] = set()
    headline: Block | None = None
    follow = 0
    for b in page.blocks:
        if b.chrome_el is not None:
            continue
        if is_teaser_headline(b, page.url, own):
            headline, follow = b, 3
            continue
        if b.tag in HEADINGS:
            follow = 0
        if follow and headline is not None:
            follow -= 1
            if b.link_chars < 0.3 * len(b.text) and len(b.text) >= 50 and \
                    _shared_lines(headline.el, b.el, lines) <= _TEASER_UNIT:
                teaser.add(b.order)
                follow = 0
    if content and _in_repeated_teaser(content[0].el, page, lines):
        return True
    prose = [b for b in content if len(b.text) - b.link_chars >= opt.min_block_chars]
    prose_chars = sum(len(b.text) for b in prose)
    teaser_chars = sum(len(b.text) for b in prose if b.order in teaser)
    if prose_chars and teaser_chars > _TEASER_SHARE * prose_chars:
        return True
    total = sum(len(b.text) for b in content) or 1
    linked = sum(b.link_chars for b in content)
    headlines = sum(1 for b in content for _, t in b.links if len(t) >= 20)
    return headlines >= opt.listing_links and linked / total > opt.max_link_ratio


def _in_repeated_teaser(el: html.HtmlElement, page: Page,
                        lines: dict[int, tuple[html.HtmlElement, int]]) -> bool:
    """``el`` sits in a teaser (a small element with a headline link, even one to this very
    page) that has a sibling of the same kind linking elsewhere: one of a list of teasers."""
    heads = [b for b in page.blocks if len(b.text) >= 20 and b.link_chars >= 0.8 * len(b.text)]
    links = {id(b.el) for b in heads}
    elsewhere = {id(b.el) for b in heads if is_teaser_headline(b, page.url)}
    for unit in el.iterancestors():
        count = lines.get(id(unit), (unit, 0))[1]
        if count > _TEASER_UNIT:
            return False
        if not any(id(x) in links for x in unit.iter()):
            continue
        parent = unit.getparent()
        if parent is not None and any(
                sib is not unit and sib.tag == unit.tag and
                lines.get(id(sib), (sib, 0))[1] <= _TEASER_UNIT and
                any(id(x) in elsewhere for x in sib.iter()) for sib in parent):
            return True
    return False


def _text_blocks_per_element(blocks: list[Block]) -> dict[int, tuple[html.HtmlElement, int]]:
    """Each element (kept alive, see ``find``) with the number of text blocks inside it."""
    counts: dict[int, tuple[html.HtmlElement, int]] = {}
    for b in blocks:
        if not b.text:
            continue
        for el in (b.el, *b.el.iterancestors()):
            counts[id(el)] = (el, counts.get(id(el), (el, 0))[1] + 1)
    return counts


def _shared_lines(a: html.HtmlElement, b: html.HtmlElement,
                  lines: dict[int, tuple[html.HtmlElement, int]]) -> int:
    """Text blocks inside the smallest element holding both ``a`` and ``b``."""
    mine = {id(e) for e in (a, *a.iterancestors())}
    for el in (b, *b.iterancestors()):
        if id(el) in mine:
            return lines.get(id(el), (el, 0))[1]
    return len(lines)


def is_teaser_headline(b: Block, url: str, own: str | None = None) -> bool:
    """A headline-length line that is one link to another page."""
    own = own if own is not None else url.split("#", 1)[0]
    return (len(b.text) >= 20 and b.link_chars >= 0.8 * len(b.text) and len(b.links) == 1
            and urljoin(url, b.links[0][0]).split("#", 1)[0] != own)
