"""Recovery of dead portals from web archives (the Internet Archive's Wayback Machine, Common
Crawl, or any Wayback/pywb-compatible archive) into our own archive, with provenance.

- ``sources``: the archives and their politeness settings;
- ``cdx``: the CDX API client (both dialects, paging);
- ``fetch``: polite HTTP with retries (tenacity) and a per-source rate limit;
- ``records``: recovered captures as faithful WARC records;
- ``job``: one portal's recovery, from listing to index;
- ``discover``: hosts a province's domains had, matched to its districts.

Not a Scrapy crawl: it copies records that archives already hold, one known URL at a time.
"""

from .job import Recoverer, Recovery, SourceResult
from .sources import DEFAULTS, Source, SourceError, build

__all__ = ["DEFAULTS", "Recoverer", "Recovery", "Source", "SourceError", "SourceResult",
           "build"]
