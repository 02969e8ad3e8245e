"""cleaners: turn one archived HTML page of a Vietnamese government portal into a clean,
correctly dated article (or None for listings, home pages and other non-articles).

    >>> from cleaners import extract
    >>> article = extract(body, "http://example.test/tin-tuc/abc-123.html")
"""

from __future__ import annotations

from lxml import html

from .core import Article, extract, page_blocks, parse
from .dates import DateHint
from .options import Options
from .template import HostTemplate

__all__ = ["Article", "DateHint", "HostTemplate", "Options", "extract", "learn_template",
           "page_blocks", "parse"]


def learn_template(pages: list[tuple[bytes | html.HtmlElement, str]],
                   options: Options | None = None) -> HostTemplate:
    """A template learned from ``(body, url)`` pairs of one host (raw bytes or parsed)."""
    from .options import default_options

    opt = options or default_options()
    template = HostTemplate(share=opt.template_share, min_pages=opt.template_min_pages)
    for body, url in pages:
        template.learn(body, url)
    return template
