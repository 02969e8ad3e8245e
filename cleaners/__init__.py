"""cleaners: turn one archived HTML page of a Vietnamese government portal into a clean,
correctly dated article (or None for listings, home pages and other non-articles).

    >>> from cleaners import extract
    >>> article = extract(body, "http://example.test/tin-tuc/abc-123.html")
"""

from __future__ import annotations

from .core import Article, extract, learn_from_articles
from .dates import DateHint
from .decode import decode
from .options import Options
from .page import page_blocks, parse
from .template import HostTemplate, learn_template

__all__ = ["Article", "DateHint", "HostTemplate", "Options", "decode", "extract",
           "learn_from_articles", "learn_template", "page_blocks", "parse"]

