"""Name resolution that never hands the crawl a private address it was not told to trust.

A host name can resolve to anything: ``docs.example.gov.vn`` to ``169.254.169.254`` (a cloud
machine's metadata service) or to ``127.0.0.1``. The scope middleware (crawler/middlewares/
scope.py) sees only names; this resolver, Scrapy's caching one (``TWISTED_DNS_RESOLVER``),
checks the address the connection will actually use. A name that resolves to a private,
loopback, link-local or reserved address fails as if it did not resolve, unless it is
trusted: the hosts a portal is named by (a portal on the local network is one), the proxy's,
or every name when ``PORTAL_ALLOW_PRIVATE_ADDRESSES`` is set. The names refused are kept in
``refused``, so that the crawl counts them as ``refused/private_address``.

Behind a proxy (``PORTAL_PROXY``, ``http_proxy``) the proxy resolves the portal's names, not
this process: scope still holds, the address check is then the proxy's business.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

# The process's resolver is one for every crawler of the process: what it trusts is too.
trusted: set[str] = set()
refused: dict[str, str] = {}  # name -> the private address it resolved to
_trust_all = False


def trust(names: Iterable[str]) -> None:
    trusted.update(n.lower().rstrip(".") for n in names)


def trust_all() -> None:
    global _trust_all
    _trust_all = True


def private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


class PublicAddressResolver(CachingThreadedResolver):
    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> PublicAddressResolver:
        resolver = super().from_crawler(crawler, reactor)
        settings = crawler.settings
        proxies = [settings.get("PORTAL_PROXY") or "",
                   *(os.environ.get(f"{s}_proxy", "") for s in ("http", "https", "HTTP",
                                                                  "HTTPS"))]
        trust(urlsplit(p).hostname or "" for p in proxies if "://" in p)
        if settings.getbool("PORTAL_ALLOW_PRIVATE_ADDRESSES"):
            trust_all()
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:  # noqa: N802
        return super().getHostByName(name, timeout).addCallback(self._check, name)

    @staticmethod
    def _check(address: str, name: str) -> str:
        key = name.lower().rstrip(".")
        if private(address) and not _trust_all and key not in trusted:
            refused[key] = address
            raise DNSLookupError(f"{name} resolves to {address}, a private address: refused")
        return address
