"""Reading pages (parse, links, template, article) in a second process, so a crawl uses two cores.

Parsing and extraction are most of a crawl's CPU time; Scrapy runs everything else (downloads,
WARC records, the index) in one thread. The spider hands each HTML page to a ``PageReader`` and
awaits its ``Reading`` while the crawl goes on. The reading process keeps the host template it
learns from the articles it reads and gives it back when the crawl ends.
``PORTAL_READING_PROCESS = False`` reads pages in the crawl's process.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from lxml import etree

import cleaners
from archive import search
from cleaners.dates import parse_text
from crawler.extensions.stopping import Abandoned

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


CLOSE_WAIT = 5.0  # seconds the reading process has to hand its template back at the end

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


def read_page(portal: str, body: bytes, url: str, content_type: str,
              date_hint: tuple[str, str] | None = None) -> Reading | None:
    """Parse ``body`` once and read all of it; None when it is not an HTML document.

    Only articles teach the host template, once read: chrome is what recurs on the host's
    articles. Listings and the home page would teach it the newest headlines and leads, which
    they all tease, and an article read after them lost its own headline and lead as chrome
    (its own page, counted too, made that sooner: two teasers and itself are three of three).
    ``date_hint`` is the date a sitemap or a listing gave the page (``cleaners.extract``).
    """
    headers = {"Content-Type": content_type}
    parsed = cleaners.parse(body, headers)
    if parsed is None:
        return None
    tree = parsed[0]
    template = _templates[portal]
    blocks = cleaners.page_blocks(tree)
    article = cleaners.extract(body, url, headers, template=template, parsed=parsed,
                               blocks=blocks, date_hint=date_hint, options=_options[portal])
    if article is not None:
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
    # Ctrl-C reaches the whole process group, and `timeout` or a service manager may signal the
    # whole group too: the crawl's process decides how to stop, and stops this one itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def end_with_parent() -> None:
        # A crawl killed outright (SIGKILL, out of memory) cannot stop this process itself.
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=end_with_parent, daemon=True).start()


class PageTimeout(Exception):
    """A page took longer than ``PORTAL_PARSE_TIMEOUT`` to read: it is skipped."""


class PageReader:
    """Reads the pages of one portal's crawl, in a process of its own unless ``in_process``.

    One page is read at a time, for at most ``timeout`` seconds: a page that takes longer (a
    page of 300,000 attributes keeps libxml2 busy for minutes, and no signal stops it there)
    is given up with ``PageTimeout``, and the reading process is replaced by a new one, which
    starts from the template the crawl began with. ``abandon`` gives up every page waiting at
    once, with ``Abandoned``: a stopping crawl keeps their requests for its next run.
    """

    def __init__(self, portal: str, stored_template: str | None, *, in_process: bool,
                 cleaners_config: str | None = None, timeout: float = 0) -> None:
        self.portal = portal
        self.start = (portal, stored_template, cleaners_config)
        self.timeout = timeout or None
        self.pool: ProcessPoolExecutor | None = None
        self.worker: Future[int] | None = None  # the reading process's pid
        self.turn = asyncio.Lock()
        self.stopped = asyncio.get_running_loop().create_future() if not in_process else None
        if not in_process:
            self.spawn()
        else:
            _use_template(*self.start)

    def spawn(self) -> None:
        self.pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_reading_process, initargs=(os.getpid(),))
        self.worker = self.pool.submit(os.getpid)
        self.pool.submit(_use_template, *self.start)

    async def read(self, body: bytes, url: str, content_type: str,
                   date_hint: tuple[str, str] | None = None) -> Reading | None:
        if self.pool is None or self.stopped is None:
            return read_page(self.portal, body, url, content_type, date_hint)
        async with self.turn:  # the timeout is this page's own, not its wait for the others
            if self.worker is not None:  # started, the next page's time counts
                await asyncio.wait([asyncio.wrap_future(self.worker), self.stopped],
                                   return_when=asyncio.FIRST_COMPLETED)
            if self.stopped.done():
                raise Abandoned("the crawl is stopping")
            reading = asyncio.wrap_future(
                self.pool.submit(read_page, self.portal, body, url, content_type,
                                 date_hint))
            done, _ = await asyncio.wait([reading, self.stopped], timeout=self.timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            if reading in done:
                try:
                    return reading.result()
                except BrokenProcessPool:
                    # Killed by the system (memory) on this page, most likely: not again.
                    logger.error("the page reading process died reading %s; starting another "
                                 "(the page is skipped)", url)
                    self.restart()
                    raise PageTimeout(url) from None
            # Its answer (or the broken pool's error) comes later, if ever: nobody waits for it.
            reading.add_done_callback(lambda f: f.cancelled() or f.exception())
            if self.stopped.done():
                raise Abandoned("the crawl is stopping")
            logger.warning("%s: still reading after %g s (PORTAL_PARSE_TIMEOUT): skipped; "
                           "starting another reading process", url, self.timeout)
            self.restart()
            raise PageTimeout(url)

    def abandon(self) -> None:
        """Give up every page waiting to be read, the one being read too."""
        if self.stopped is not None and not self.stopped.done():
            self.stopped.set_result(None)

    def restart(self) -> None:
        self.kill()
        self.spawn()

    def kill(self) -> None:
        """End the reading process now, whatever it is doing (its template is lost)."""
        if self.pool is None:
            return
        if self.worker is not None and self.worker.done() and not self.worker.exception():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.worker.result(), signal.SIGKILL)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = None

    def close(self, wait: float = CLOSE_WAIT) -> str | None:
        """Stop reading; the template as learned (None if it was lost)."""
        template: Any = None
        try:
            if self.pool is not None:
                template = self.pool.submit(_template_json, self.portal).result(timeout=wait)
            else:
                template = _template_json(self.portal)
        except (BrokenProcessPool, TimeoutError, KeyError) as e:
            # A lost template is relearned by the next crawl.
            logger.warning("the template learned by this crawl is lost: %s",
                           type(e).__name__ if not str(e) else e)
        finally:
            if self.pool is not None:
                self.kill()
            _templates.pop(self.portal, None)
            _options.pop(self.portal, None)
        return template
