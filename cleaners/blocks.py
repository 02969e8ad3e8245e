"""Linearise a parsed page into text blocks (block-level lines) in document order.

Every later stage (template learning, container search, title/date/author, captions) works
on this one list, so the tree is walked once per page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import html

from .chrome import CHROME_CLASS, SKIP_TAGS
from .normalize import norm

BLOCK_TAGS = frozenset({
    "p", "div", "td", "th", "li", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
    "main", "header", "blockquote", "figure", "figcaption", "table", "tr", "tbody", "thead",
    "tfoot", "ul", "ol", "dl", "dt", "dd", "center", "pre", "address", "body", "form",
    "caption", "hr", "fieldset", "details", "summary",
})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_ALIGN = re.compile(r"text-align\s*:\s*(center|right)", re.I)
_ALIGN_CLASS = re.compile(r"\btext-(center|right)\b|\b(?:align|pull)-?(right)\b", re.I)


@dataclass(slots=True)
class Block:
    """One line of visible text (or an image-only line) and what it looked like."""

    text: str
    el: html.HtmlElement          # the block element owning the text
    order: int
    link_chars: int = 0
    em_chars: int = 0
    strong_chars: int = 0
    img: bool = False
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, link text)
    row: bool = False              # a data-table row, cells joined with " | "
    chrome_el: html.HtmlElement | None = None  # innermost chrome-classed ancestor
    in_figure: bool = False
    caption_hint: bool = False     # inside figcaption or a caption-classed element

    @property
    def tag(self) -> str:
        return self.el.tag if isinstance(self.el.tag, str) else ""

    def align(self) -> str | None:
        """'center'/'right' when the owning element says so (style, align=, CSS class)."""
        el = self.el
        m = _ALIGN.search(el.get("style", ""))
        if m:
            return m.group(1).lower()
        a = (el.get("align") or "").lower()
        if a in ("center", "right"):
            return a
        m = _ALIGN_CLASS.search(el.get("class", ""))
        if m:
            return (m.group(1) or m.group(2)).lower()
        return None


class _Buf:
    __slots__ = ("parts", "link", "em", "strong", "img", "links")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.link = self.em = self.strong = 0
        self.img = False
        self.links: list[tuple[str, str]] = []


_CAPTION_CLASS = re.compile(r"caption|chu-?thich|chuthich|image-?desc|photo-?desc|img-?desc|"
                            r"figcaption|desc-?img|note-?img|pic-?desc", re.I)


def _is_data_table(table: html.HtmlElement) -> bool:
    """A table of figures (rows are article text), as opposed to a layout table."""
    if table.find(".//table") is not None or table.find(".//img") is not None:
        return False
    widest = 0
    for tr in table.iter("tr"):
        cells = [c for c in tr if isinstance(c.tag, str) and c.tag in ("td", "th")]
        widest = max(widest, len(cells))
        for c in cells:
            # Layout cells hold paragraphs, line-broken text or long prose; figure cells
            # hold a number or a short phrase.
            if len(c.findall(".//p")) > 2 or len(c.findall(".//br")) > 2:
                return False
            if len(c.text_content()) > 250:
                return False
    return widest >= 2


def linearize(root: html.HtmlElement) -> list[Block]:
    """Blocks of ``root`` in document order (hidden and non-text elements skipped)."""
    walk = _Walk()
    top = _Buf()
    _add(root.text, top, False, False, False)
    for child in root:
        walk.visit(child, root, top, False, False, False, None, False, False)
    walk.flush(root, top, None, False, False)
    return walk.blocks


def _add(text: str | None, buf: _Buf, link: bool, em: bool, strong: bool) -> None:
    """Text joins the line being built, counted as link, emphasis or bold text as it is."""
    if not text:
        return
    buf.parts.append(text)
    n = len(text.strip())
    if link:
        buf.link += n
    if em:
        buf.em += n
    if strong:
        buf.strong += n


def _skipped(el: html.HtmlElement, tag: str) -> bool:
    """An element whose content is not shown: scripts and the like, or hidden."""
    style = el.get("style")
    return (tag in SKIP_TAGS or bool(style and _HIDDEN.search(style))
            or el.get("hidden") is not None)


def _chrome_of(el: html.HtmlElement, tag: str, names: str,
               chrome: html.HtmlElement | None) -> html.HtmlElement | None:
    """The innermost chrome element around ``el``'s content: ``el`` itself when its class or
    id says chrome, or when it is a page header (a ``header`` outside any article)."""
    if names.strip() and CHROME_CLASS.search(names):
        return el
    if tag == "header" and el.xpath("ancestor::article|ancestor::main") == []:
        return el
    return chrome


class _Walk:
    """One walk down a page's tree, in document order: the blocks found so far.

    ``owner`` is the block element a line of text belongs to, ``buf`` that line; ``link``,
    ``em`` and ``strong`` say how the text at hand is marked, ``chrome``, ``fig`` and ``cap``
    what it is inside of (a chrome element, a figure, a caption).
    """

    def __init__(self) -> None:
        self.blocks: list[Block] = []

    def flush(self, owner: html.HtmlElement, buf: _Buf, chrome: html.HtmlElement | None,
              fig: bool, cap: bool) -> None:
        """The line in ``buf`` ends: it becomes a block when it shows something."""
        text = norm("".join(buf.parts))
        if text or buf.img:
            self.blocks.append(Block(text, owner, len(self.blocks), buf.link, buf.em,
                                     buf.strong, buf.img, buf.links, False, chrome, fig, cap))
        buf.__init__()

    def visit(self, el, owner, buf: _Buf, link: bool, em: bool, strong: bool,
              chrome, fig: bool, cap: bool) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else None
        if tag is None or _skipped(el, tag):  # a comment, processing instruction, hidden
            pass
        elif tag == "br":
            self.flush(owner, buf, chrome, fig, cap)
        elif tag == "img":
            buf.img = True
        else:
            names = (el.get("class") or "") + " " + (el.get("id") or "")
            inner_chrome = _chrome_of(el, tag, names, chrome)
            if tag in BLOCK_TAGS:
                self.flush(owner, buf, chrome, fig, cap)
                self.block(el, tag, names, link, em, strong, inner_chrome, fig, cap)
            elif inner_chrome is not el:
                # A chrome-classed inline element (font-size control, view counter span) is
                # dropped whole; any other one's text joins the owner's line.
                self.inline(el, tag, owner, buf, link, em, strong, inner_chrome, fig, cap)
        _add(el.tail, buf, link, em, strong)

    def block(self, el, tag: str, names: str, link: bool, em: bool, strong: bool,
              chrome, fig: bool, cap: bool) -> None:
        """A block element: its text makes lines of its own (a data table, one per row)."""
        fig = fig or tag in ("figure", "figcaption")
        cap = cap or tag == "figcaption" or bool(names.strip() and _CAPTION_CLASS.search(names))
        if tag == "table" and _is_data_table(el):
            for tr in el.iter("tr"):
                cells = [norm(c.text_content()) for c in tr
                         if isinstance(c.tag, str) and c.tag in ("td", "th")]
                text = " | ".join(c for c in cells if c)
                if text:
                    self.blocks.append(Block(text, tr, len(self.blocks), row=True,
                                             chrome_el=chrome, in_figure=fig))
            return
        inner = _Buf()
        _add(el.text, inner, link, em, strong)
        for child in el:
            self.visit(child, el, inner, link, em, strong, chrome, fig, cap)
        self.flush(el, inner, chrome, fig, cap)

    def inline(self, el, tag: str, owner, buf: _Buf, link: bool, em: bool, strong: bool,
               chrome, fig: bool, cap: bool) -> None:
        """An inline element: its text joins the line of its block."""
        is_link = tag == "a" and el.get("href") is not None
        if is_link:
            buf.links.append((el.get("href", ""), norm(el.text_content())))
        link = link or is_link
        em = em or tag in ("em", "i")
        strong = strong or tag in ("strong", "b")
        _add(el.text, buf, link, em, strong)
        for child in el:
            self.visit(child, owner, buf, link, em, strong, chrome, fig, cap)
