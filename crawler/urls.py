"""Canonical URLs: one URL per page, so that each article is fetched and stored once.

Portals link one page under many URLs: tracking parameters from social shares, session ids,
print variants, fragments, and the same query parameters in another order. Order matters to
some servers (and to the fixture sites), so it is kept for fetching; for naming the page the
portal's own most common order of those parameters wins.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scrapy import Request
from scrapy.utils.python import to_bytes

TRACKING_PARAMETERS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|yclid|zarsrc|zalo_\w+|_ga|_gl|mc_\w+|igshid|ref_src)$",
    re.I,
)
SESSION_PARAMETERS = re.compile(r"^(jsessionid|phpsessid|aspsessionid\w*|sid|sessionid)$", re.I)
# Print views repeat the article: `?print=1`, `&in=1`, `/print/`.
PRINT_PARAMETERS = re.compile(r"^(print|printable|in|inbai|view_print)$", re.I)
# ASP.NET cookieless sessions put the id in the path: /(S(abc123))/page.aspx
PATH_SESSION = re.compile(r"/\([A-Za-z]\([^)]*\)\)")
JSESSION_PATH = re.compile(r";jsessionid=[^/?#]*", re.I)


def _kept(name: str) -> bool:
    return not (TRACKING_PARAMETERS.match(name) or SESSION_PARAMETERS.match(name)
                or PRINT_PARAMETERS.match(name))


def clean_url(url: str) -> str:
    """``url`` without fragment, tracking, session and print parameters; order is kept."""
    parts = urlsplit(url.strip())
    path = JSESSION_PATH.sub("", PATH_SESSION.sub("", parts.path)) or "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if _kept(k)]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


def join_url(base: str, href: str) -> str:
    """``urljoin(base, href)``; quicker for the absolute and root-relative links that make up
    most of a page (menus repeat a few hundred on every page)."""
    if "/." not in href and "\\" not in href:
        if href.startswith(("http://", "https://")):
            return href
        if href.startswith("/") and not href.startswith("//") and "://" in base:
            scheme, rest = base.split("://", 1)
            host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
            return f"{scheme}://{host}{href}"
    return urljoin(base, href)


def parameter_names(url: str) -> tuple[str, ...]:
    return tuple(k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True))


class ParameterOrder:
    """The order a portal itself writes a set of query parameters in, learned from its links.

    ``/?gd=34&cn=28&tc=1`` linked a hundred times and ``/?cn=28&gd=34&tc=1`` once: the second
    is the same page, named the way the portal names it everywhere else.
    """

    def __init__(self) -> None:
        self.orders: dict[frozenset[str], Counter[tuple[str, ...]]] = {}

    def see(self, url: str) -> None:
        if "&" not in url:  # one parameter or none: no order to learn
            return
        names = parameter_names(url)
        if len(names) > 1:
            self.orders.setdefault(frozenset(names), Counter())[names] += 1

    def canonical(self, url: str) -> str:
        """``url`` cleaned, its parameters in the portal's usual order."""
        url = clean_url(url)
        names = parameter_names(url)
        counts = self.orders.get(frozenset(names))
        if len(names) < 2 or not counts or len(set(names)) != len(names):
            return url
        usual = max(counts.items(), key=lambda item: (item[1], item[0]))[0]
        if usual == names:
            return url
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        return urlunsplit(parts._replace(query=urlencode([(k, query[k]) for k in usual])))


class ExactUrlFingerprinter:
    """Request fingerprints that keep query parameter order.

    Scrapy's default fingerprint sorts the query, so ``?a=1&b=2`` and ``?b=2&a=1`` count as one
    request and the second is never fetched. The spider already cleans URLs before it asks, so
    here a URL is the request: method, URL as written, body.
    """

    @classmethod
    def from_crawler(cls, crawler: object) -> ExactUrlFingerprinter:
        return cls()

    def fingerprint(self, request: Request) -> bytes:
        digest = hashlib.sha1()
        digest.update(to_bytes(request.method))
        digest.update(to_bytes(request.url.split("#", 1)[0]))
        digest.update(request.body or b"")
        return digest.digest()
