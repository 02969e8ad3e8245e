"""What the archive already holds of a portal, so that a recrawl fetches only what is new.

A crawl that is not full asks for a stored article page only conditionally, with
``If-None-Match``/``If-Modified-Since`` from the ``ETag``/``Last-Modified`` its last capture
answered with, or not at all when it had neither. Listings, feeds and sitemaps are fetched
again and reveal what is new. The other URLs a crawl saw for stored articles (tracking copies,
other parameter orders) are added to their ``alternate_urls`` when it ends.
"""

from __future__ import annotations

from typing import Any

from warcio.statusandheaders import StatusAndHeaders

from archive import index
from archive.warcfiles import http_headers_at
from crawler.extensions.session import ArchiveSession


def validators(headers: StatusAndHeaders | None) -> dict[str, str]:
    """Conditional request headers from the ``ETag``/``Last-Modified`` a capture answered with."""
    if headers is None:
        return {}
    found = {"If-None-Match": headers.get_header("ETag"),
             "If-Modified-Since": headers.get_header("Last-Modified")}
    return {name: value.strip() for name, value in found.items() if value}


class KnownArticles:
    """The stored articles of a portal (canonical and alternate URLs), each with the WARC
    pointer of its last full capture, if it has one."""

    def __init__(self, session: ArchiveSession, captures: dict[str, dict[str, Any]]) -> None:
        self.session = session
        self.captures = captures  # URL -> last capture pointer ({} when none)

    @classmethod
    def load(cls, session: ArchiveSession) -> KnownArticles:
        return cls(session, session.stored_articles())

    def __bool__(self) -> bool:
        return bool(self.captures)

    def validators(self, url: str) -> dict[str, str] | None:
        """The conditional headers to ask for ``url`` with: None when it is no stored article,
        ``{}`` when it is one that cannot be asked for conditionally (so is not asked for)."""
        capture = self.captures.get(url)
        if capture is None:
            return None
        if "validators" not in capture:  # listings link an article many times: read once
            headers = (http_headers_at(self.session.warc.directory, capture["warc_file"],
                                       capture["warc_offset"])
                       if capture.get("warc_file") else None)
            capture["validators"] = validators(headers)
        return capture["validators"]

    def wanted_documents(self) -> list[str]:
        """The documents of stored articles not archived yet (``index.wanted_documents``)."""
        if self.session is None:
            return []
        return index.wanted_documents(self.session.db, self.session.portal.id)

    def keep_aliases(self, aliases: dict[str, set[str]]) -> None:
        """Add the other URLs seen for stored articles to their ``alternate_urls``."""
        session = self.session
        session.flush()  # the articles of this crawl are stored articles too
        session.add_alternate_urls(
            index.missing_alternate_urls(session.db, session.portal.id, aliases))
