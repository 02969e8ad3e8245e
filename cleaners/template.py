"""Per-host template: text lines that recur on many pages of one host are chrome.

A crawler learns it from the pages it fetched (listings and articles alike) and stores it
as JSON next to the index, so later crawls of the same portal start with it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml import html

from .blocks import Block
from .normalize import norm
from .options import Options, default_options
from .page import page_blocks, parse

# Lines longer than this are article prose even when repeated (a sapo quoted on a listing).
_MAX_LINE = 400
_WINDOW = 1000  # pages: a template that has learned twice this many forgets half (forget_half)


@dataclass(slots=True)
class HostTemplate:
    """Counts of block-level text lines over ``pages`` learned pages of one host."""

    host: str = ""
    pages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    titles: Counter[str] = field(default_factory=Counter)
    share: float = 0.5
    min_pages: int = 3

    def learn(self, body: bytes | html.HtmlElement, url: str = "",
              headers: Mapping[str, str] | None = None, *,
              blocks: list[Block] | None = None) -> None:
        """Add one page (raw bytes or an already parsed tree, with its ``page_blocks`` if the
        caller has them)."""
        if isinstance(body, (bytes, bytearray)):
            parsed = parse(bytes(body), headers)
            if parsed is None:
                return
            tree = parsed[0]
        else:
            tree = body
        if not self.host and url:
            self.host = urlsplit(url).hostname or ""
        self.learn_lines(b.text for b in (blocks if blocks is not None else page_blocks(tree)))
        title = tree.findtext(".//title")
        if title:
            self.titles[norm(title)] += 1

    def learn_lines(self, lines: Iterable[str]) -> None:
        """Count the distinct lines of one page."""
        self.pages += 1
        self.counts.update({line for line in lines if line and len(line) <= _MAX_LINE})
        if self.pages >= 2 * _WINDOW:
            self.forget_half()

    def forget_half(self) -> None:
        """Halve every count: shares stay as they were, lines seen once (article text, most of
        what is counted) are dropped, so a crawl of any length keeps a bounded template, and a
        redesigned site's new chrome gains weight against the old."""
        self.pages //= 2
        for counter in (self.counts, self.titles):
            for line, n in list(counter.items()):
                if n // 2:
                    counter[line] = n // 2
                else:
                    del counter[line]

    def is_chrome(self, line: str) -> bool:
        """True when ``line`` is on enough of this host's pages to be furniture."""
        if self.pages < self.min_pages:
            return False
        n = self.counts.get(line, 0)
        return n >= self.min_pages and n >= self.share * self.pages

    def generic_title(self, title: str) -> bool:
        """The <title> text is the same on many pages (a site name, "Chi tiết tin tức")."""
        if self.pages < self.min_pages:
            return False
        n = self.titles.get(title, 0)
        return n >= self.min_pages and n >= self.share * self.pages

    def to_json(self) -> str:
        """Serialise; only lines seen on two pages or more are kept (the rest cannot matter
        until seen again, and dropping them keeps the stored template small)."""
        keep = {k: v for k, v in self.counts.items() if v >= 2}
        return json.dumps({"host": self.host, "pages": self.pages, "counts": keep,
                           "titles": {k: v for k, v in self.titles.items() if v >= 2},
                           "share": self.share, "min_pages": self.min_pages},
                          ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, data: str) -> HostTemplate:
        """Inverse of :meth:`to_json`."""
        d = json.loads(data)
        return cls(host=d.get("host", ""), pages=int(d.get("pages", 0)),
                   counts=Counter(d.get("counts", {})), titles=Counter(d.get("titles", {})),
                   share=float(d.get("share", 0.5)), min_pages=int(d.get("min_pages", 3)))


def learn_template(pages: list[tuple[bytes | html.HtmlElement, str]],
                   options: Options | None = None) -> HostTemplate:
    """A template learned from ``(body, url)`` pairs of one host (raw bytes or parsed)."""
    opt = options or default_options()
    template = HostTemplate(share=opt.template_share, min_pages=opt.template_min_pages)
    for body, url in pages:
        template.learn(body, url)
    return template
