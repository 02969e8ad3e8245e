"""Stage 1: bytes -> a decoded, parsed page with its metadata and text blocks, computed once.

Every later stage (container, headline, date, author, body) reads the same :class:`Page`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree, html

from .blocks import Block, linearize
from .decode import decode
from .metadata import Meta, read_meta

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)

Parsed = tuple[html.HtmlElement, str, str | None]


def parse(body: bytes, headers: Mapping[str, str] | None = None) -> Parsed | None:
    """Decode and parse once: (tree, encoding, legacy conversion), or None for bytes that are
    not an HTML document."""
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


@dataclass(slots=True)
class Page:
    """One parsed page: its tree, <head> metadata and body blocks."""

    tree: html.HtmlElement
    url: str
    meta: Meta
    blocks: list[Block]

    @classmethod
    def build(cls, tree: html.HtmlElement, url: str, blocks: list[Block] | None = None
              ) -> Page:
        return cls(tree, url, read_meta(tree, url),
                   blocks if blocks is not None else page_blocks(tree))
