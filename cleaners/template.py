"""Per-host template: text lines that recur on many pages of one host are chrome.

A crawler learns it from the pages it fetched (listings and articles alike) and stores it
as JSON next to the index, so later crawls of the same portal start with it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lxml import html

from .blocks import linearize

# Lines longer than this are article prose even when repeated (a sapo quoted on a listing).
_MAX_LINE = 400


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
              headers: Mapping[str, str] | None = None) -> None:
        """Add one page (raw bytes or an already parsed tree)."""
        from .core import parse  # late import: core uses this module

        if isinstance(body, (bytes, bytearray)):
            parsed = parse(bytes(body), headers)
            if parsed is None:
                return
            tree = parsed[0]
        else:
            tree = body
        if not self.host and url:
            from urllib.parse import urlsplit

            self.host = urlsplit(url).hostname or ""
        root = tree.find("body")
        if root is None:
            root = tree
        self.learn_lines(b.text for b in linearize(root))
        title = tree.findtext(".//title")
        if title:
            from .normalize import norm

            self.titles[norm(title)] += 1

    def learn_lines(self, lines: Iterable[str]) -> None:
        """Count the distinct lines of one page."""
        self.pages += 1
        self.counts.update({line for line in lines if line and len(line) <= _MAX_LINE})

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
