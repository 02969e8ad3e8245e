"""The second engine: trafilatura picks the article's text where our box finder is unsure or
finds none. Its lines are matched back to the page's blocks, so every later stage (headline,
date, author, chrome, captions, credits) runs on its choice exactly as on ours."""

from __future__ import annotations

import logging
import re

import trafilatura

from .blocks import Block
from .container import Container
from .page import Page

log = logging.getLogger(__name__)
_KEY = re.compile(r"[\s|]+")
_MIN_MATCHED = 0.6  # share of trafilatura's text that must be found among the page's blocks


def _key(text: str) -> str:
    return _KEY.sub("", text)


def select(page: Page) -> tuple[Container, list[Block]] | None:
    """The blocks trafilatura keeps as the article, and the box around them; None when it
    finds no text, or text the page's blocks do not hold."""
    try:
        doc = trafilatura.bare_extraction(page.tree, url=page.url or None, with_metadata=False,
                                          include_comments=False, output_format="python")
    except Exception:  # noqa: BLE001 - the second engine failing leaves the first one's answer
        log.debug("trafilatura failed on %s", page.url, exc_info=True)
        return None
    text = getattr(doc, "text", None) if doc is not None else None
    if not text:
        return None
    lines = [_key(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    by_key: dict[str, list[Block]] = {}
    for b in page.blocks:
        if b.text:
            by_key.setdefault(_key(b.text), []).append(b)
    chosen: dict[int, Block] = {}
    matched = 0
    for line in lines:
        found = by_key.get(line) or (by_key.get(line[1:]) if line.startswith("-") else None)
        if found:
            chosen[found[0].order] = found[0]
            matched += len(line)
    if not chosen or matched < _MIN_MATCHED * sum(map(len, lines)):
        return None
    blocks = [chosen[k] for k in sorted(chosen)]
    return Container([_common_ancestor([b.el for b in blocks])], 0.0, 0.0), blocks


def _common_ancestor(elements: list) -> object:
    first = elements[0]
    chain = [first, *first.iterancestors()]
    depth = {id(e): i for i, e in enumerate(chain)}
    lowest = 0
    for el in elements[1:]:
        node = el
        while id(node) not in depth:
            node = node.getparent()
        lowest = max(lowest, depth[id(node)])
    return chain[lowest]
