"""Reading pages (parse, links, template, article) in a second process, so a crawl uses two cores.

Parsing and extraction are most of a crawl's CPU time; Scrapy runs everything else (downloads,
WARC records, the index) in one thread. The spider hands each HTML page to a ``PageReader`` and
awaits its ``Reading`` while the crawl goes on. The reading process keeps the host template it
learns from the pages (crawler/spiders/portal.py says which pages teach it) and gives it back
when the crawl ends. ``PORTAL_READING_PROCESS = False`` reads pages in the crawl's process.
"""

from __future__ import annotations

import asyncio
import configparser
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from lxml import etree

import cleaners
from archive import search
from cleaners.dates import parse_text

logger = logging.getLogger(__name__)

# Plain strings, not lxml's "smart" ones that keep their whole page alive.
ANCHOR_HREFS = etree.XPath("//a/@href", smart_strings=False)
ALTERNATE_HREFS = etree.XPath("//link[@rel='alternate']/@href", smart_strings=False)
CANONICAL_HREFS = etree.XPath("//link[@rel='canonical']/@href", smart_strings=False)
# A full day, month and year: the date a listing prints next to a teaser.
PRINTED_DATE = re.compile(r"\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{4}")
TEASER_LINKS = 3  # links a teaser holds at most (title, picture, "more"): more is a list
TEASER_LEVELS = 3  # elements above a date that may still be its teaser


@dataclass
class Reading:
    """What the crawl needs of one HTML page."""

    hrefs: list[str]  # every <a href>, stripped, as written
    alternates: list[str]  # <link rel=alternate> (feeds, language versions)
    canonical: str | None  # <link rel=canonical>, as written
    article: cleaners.Article | None
    search_columns: list[str] | None  # the article's word forms for the search index
    dated_links: dict[str, str]  # href (stripped, as written) -> the day printed next to it


# The templates and cleaner options of the process that reads pages, by portal id.
_templates: dict[str, cleaners.HostTemplate] = {}
_options: dict[str, cleaners.Options] = {}


def _use_template(portal: str, stored: str | None, config: str | None = None) -> None:
    """Begin reading ``portal``'s pages: its stored template (JSON) and cleaner options (the
    shipped cleaners/settings.cfg, overridden by the ``config`` file if given)."""
    options = cleaners.Options.from_config(config)
    template = (cleaners.HostTemplate.from_json(stored) if stored
                else cleaners.HostTemplate())
    template.share, template.min_pages = options.template_share, options.template_min_pages
    _templates[portal], _options[portal] = template, options


def check_cleaners_config(path: str | None) -> None:
    """Raise ``ValueError`` with a one-line reason when ``path`` is no usable cleaners config
    (a crawl checks it before it starts: the reading process cannot say so itself)."""
    try:
        cleaners.Options.from_config(path)
    except (OSError, ValueError, configparser.Error) as e:
        raise ValueError(f"cleaners config {path}: {e}") from e


def _template_json(portal: str) -> str:
    return _templates[portal].to_json()


def read_page(portal: str, body: bytes, url: str, content_type: str, learn: str,
              date_hint: tuple[str, str] | None = None) -> Reading | None:
    """Parse ``body`` once and read all of it; None when it is not an HTML document.

    ``learn`` says which pages teach the template: "all" (before extraction: a first crawl
    learns from every page) or "articles" (after: a recrawl teaches only its new articles).
    ``date_hint`` is the date a sitemap or a listing gave the page (``cleaners.extract``).
    """
    headers = {"Content-Type": content_type}
    parsed = cleaners.parse(body, headers)
    if parsed is None:
        return None
    tree = parsed[0]
    template = _templates[portal]
    blocks = cleaners.page_blocks(tree)
    if learn == "all":
        template.learn(tree, url, blocks=blocks)
    article = cleaners.extract(body, url, headers, template=template, parsed=parsed,
                               blocks=blocks, date_hint=date_hint, options=_options[portal])
    if article is not None and learn == "articles":
        template.learn(tree, url, blocks=blocks)
    canonical = CANONICAL_HREFS(tree)
    columns = search.search_columns(
        {"title": article.title, "summary": article.summary, "text": article.text}
    ) if article is not None else None
    return Reading(hrefs=[h.strip() for h in ANCHOR_HREFS(tree)],
                   alternates=[h.strip() for h in ALTERNATE_HREFS(tree)],
                   canonical=canonical[0].strip() if canonical else None, article=article,
                   search_columns=columns, dated_links=dated_links(tree))


def dated_links(tree: etree._Element) -> dict[str, str]:
    """The links a page prints a date next to (listings, "other news" lists): each date goes
    to the links of the smallest element around it that holds at most ``TEASER_LINKS``."""
    found: dict[str, str] = {}
    for element in tree.iter(etree.Element):  # comments and processing instructions aside
        inner = None if element.tag in ("script", "style") else element.text
        for text, owner in ((inner, element), (element.tail, element.getparent())):
            if owner is None or not text or not PRINTED_DATE.search(text):
                continue
            day = parse_text(" ".join(text.split()))
            if day:
                for href in teaser_hrefs(owner):
                    found.setdefault(href, day[:10])
    return found


def teaser_hrefs(element: etree._Element) -> list[str]:
    """The links of the teaser ``element`` belongs to (nothing when it sits in a longer list)."""
    for _ in range(TEASER_LEVELS):
        hrefs = [a.get("href", "").strip() for a in element.iter("a")]
        if len(hrefs) > TEASER_LINKS:
            return []
        if hrefs:
            return [h for h in hrefs if h]
        parent = element.getparent()
        if parent is None:
            return []
        element = parent
    return []


def _start_reading_process(parent: int) -> None:
    # Ctrl-C reaches the whole process group: the crawl's process decides how to stop, and
    # needs this one until its last pages are read.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def end_with_parent() -> None:
        # A crawl killed outright (SIGKILL, out of memory) cannot stop this process itself.
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=end_with_parent, daemon=True).start()


class PageReader:
    """Reads the pages of one portal's crawl, in a process of its own unless ``in_process``."""

    def __init__(self, portal: str, stored_template: str | None, *, in_process: bool,
                 cleaners_config: str | None = None) -> None:
        self.portal = portal
        self.start = (portal, stored_template, cleaners_config)
        self.pool: ProcessPoolExecutor | None = None
        if not in_process:
            self.pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_reading_process, initargs=(os.getpid(),))
            self.pool.submit(_use_template, *self.start)
        else:
            _use_template(*self.start)

    async def read(self, body: bytes, url: str, content_type: str, learn: str,
                   date_hint: tuple[str, str] | None = None) -> Reading | None:
        if self.pool is not None:
            try:
                return await asyncio.wrap_future(self.pool.submit(
                    read_page, self.portal, body, url, content_type, learn, date_hint))
            except BrokenProcessPool:
                # Killed by the system (memory) or crashed: go on in this process, from the
                # template the crawl began with.
                logger.error("the page reading process died; reading pages in the crawl's "
                             "process from now on")
                self.pool = None
                _use_template(*self.start)
        return read_page(self.portal, body, url, content_type, learn, date_hint)

    def close(self) -> str | None:
        """Stop reading; the template as learned (None if it was lost)."""
        template: Any = None
        try:
            if self.pool is not None:
                template = self.pool.submit(_template_json, self.portal).result(timeout=60)
            else:
                template = _template_json(self.portal)
        except Exception:  # noqa: BLE001 - a lost template is relearned by the next crawl
            logger.exception("could not get the learned template back")
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
            _templates.pop(self.portal, None)
            _options.pop(self.portal, None)
        return template
