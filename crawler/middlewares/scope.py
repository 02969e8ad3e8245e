"""The crawl's scope, enforced where every request passes: the portal's own hosts, over http or
https, and nothing on a private network.

Links are filtered by the link policy (crawler/discovery.py), but a request can come from
elsewhere: a 3xx ``Location``, a ``<meta http-equiv=refresh>``, robots.txt answering with a
redirect, a document link in an article. This downloader middleware sits first in the chain
(before robots.txt is even asked for) and refuses, counted under ``refused/<reason>``:

- ``scheme``: anything but ``http`` and ``https`` (``file:``, ``ftp:``, ``data:``, ``s3:``...;
  their download handlers are off as well, in ``crawler/settings.py``);
- ``off_site``: a host that is not the portal's (``Portal.hosts``), or the portal's host on
  another port; documents may also come from the registry's ``document_hosts``;
- ``private_address``: an IP address of a private, loopback, link-local or reserved network,
  written in the URL, or a host name that resolved to one (crawler/resolver.py refuses to
  connect there and names the host here). The portal's own host may be one (a portal on the
  local network, the loopback demo server); ``PORTAL_ALLOW_PRIVATE_ADDRESSES`` allows all.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured

from crawler import resolver
from crawler.discovery import DOCUMENT_EXTENSIONS, extension
from crawler.registry import Portal

logger = logging.getLogger(__name__)

SCHEMES = ("http", "https")
# Sent for every request refused, with ``request`` and ``reason``: a home page redirecting
# to another host is how a portal says it moved (crawler/extensions/recorder.py).
request_refused = object()
DEFAULT_PORTS = {"http": 80, "https": 443}


def port_of(url: str) -> int | None:
    parts = urlsplit(url)
    try:
        return parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None


class ScopeMiddleware:
    def __init__(self, crawler: Crawler, portal: Portal, *, allow_private: bool) -> None:
        self.crawler = crawler
        self.portal = portal
        self.allow_private = allow_private
        self.named_hosts = portal.named_hosts
        self.hosts = portal.hosts
        self.document_hosts = set(portal.document_hosts) - self.hosts
        # A base URL that names its port keeps the crawl on that port; one that does not may
        # move between http and https.
        self.ports = {port_of(u) for u in (portal.base_url, *portal.start_urls)
                      if urlsplit(u).port} or set(DEFAULT_PORTS.values())
        # The hosts the portal is named by may resolve to a private address: then the portal
        # is one. Names derived from them (the www. twin) and document hosts may not.
        resolver.trust(self.named_hosts)
        if allow_private:
            resolver.trust_all()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScopeMiddleware:
        portal = getattr(crawler.spider, "portal", None)
        if not isinstance(portal, Portal):
            raise NotConfigured("the spider crawls no portal")
        return cls(crawler, portal,
                   allow_private=crawler.settings.getbool("PORTAL_ALLOW_PRIVATE_ADDRESSES"))

    def refusal(self, request: Request) -> str | None:
        """Why ``request`` leaves the crawl's scope, or None."""
        try:
            parts = urlsplit(request.url)
            host = (parts.hostname or "").rstrip(".")
        except ValueError:
            return "off_site"
        if parts.scheme not in SCHEMES:
            return "scheme"
        if host not in self.named_hosts and not self.allow_private and (
                resolver.private(host) or host in resolver.refused):
            return "private_address"
        port = port_of(request.url)
        if host in self.hosts:
            return None if port in self.ports else "off_site"
        if host in self.document_hosts and port in DEFAULT_PORTS.values() and (
                request.meta.get("portal_document") or parts.path == "/robots.txt"
                or extension(request.url) in DOCUMENT_EXTENSIONS):
            return None
        return "off_site"

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        reason = self.refusal(request)
        if reason is None:
            return
        self.crawler.stats.inc_value(f"refused/{reason}")
        logger.warning("refused (%s): %s", reason, request.url[:300])
        self.crawler.signals.send_catch_log(request_refused, request=request, reason=reason)
        raise IgnoreRequest(f"out of scope ({reason}): {request.url[:300]}")
