"""Canonical URLs: one URL per page, so that each article is fetched and stored once.

Portals link one page under many URLs: tracking parameters from social shares, session ids,
print variants, fragments, and the same query parameters in another order. Order matters to
some servers (and to the fixture sites), so it is kept for fetching; for naming the page the
portal's own most common order of those parameters wins.

Only parameters known never to select content are removed. A short or generic name stays, even
where it often means a session or a print view: ``sid`` is the section id of many portals
(``tin.aspx?sid=12&id=5`` is not ``tin.aspx?id=5``), and ``in`` selects content on others.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import url_query_cleaner

if TYPE_CHECKING:  # imports no Scrapy: `show` cleans pasted URLs with clean_url
    from scrapy import Request

# Click and campaign trackers of ad, mail and social platforms (Zalo's included).
TRACKING_PARAMETERS = re.compile(
    r"utm_\w+|fbclid|gclid|gbraid|wbraid|gad_source|dclid|msclkid|yclid|twclid|ttclid|igshid|"
    r"zarsrc|zalo_\w+|_ga|_gl|mc_cid|mc_eid|_hsenc|_hsmi|mkt_tok|ref_src|fb_action_ids|"
    r"fb_action_types|fb_source|fb_ref",
    re.I,
)
# Session tokens: a new one per visit, the same page behind each.
SESSION_PARAMETERS = re.compile(r"jsessionid|phpsessid|aspsessionid\w*|sessionid", re.I)
# Print views repeat the article: `?print=1`, `&inbai=1`.
PRINT_PARAMETERS = re.compile(r"print|printable|inbai|view_print", re.I)
# ASP.NET cookieless sessions put the id in the path: /(S(abc123))/page.aspx
PATH_SESSION = re.compile(r"/\([A-Za-z]\([^)]*\)\)")
JSESSION_PATH = re.compile(r";jsessionid=[^/?#]*", re.I)


def dropped_parameter(name: str) -> bool:
    """Whether a query parameter of this name is removed from URLs (it never selects content)."""
    return any(kind.fullmatch(name) for kind in (TRACKING_PARAMETERS, SESSION_PARAMETERS,
                                                  PRINT_PARAMETERS))


def clean_url(url: str) -> str:
    """``url`` without fragment, tracking, session and print parameters; the other parameters
    stay as the portal wrote them, in its order. Never raises: a URL that cannot be parsed
    (``http://[domain]/``, an unfilled CMS placeholder) comes back without its fragment, for
    the caller to refuse."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("#", 1)[0]
    path = JSESSION_PATH.sub("", PATH_SESSION.sub("", parts.path)) or "/"
    dropped = [name for name in parameter_names(url) if dropped_parameter(name)]
    return url_query_cleaner(
        urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, "")),
        dropped, remove=True, unique=False).strip()  # "x #y": the space ended the URL


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
    try:
        return urljoin(base, href)
    except ValueError:  # a malformed href (http://[domain]/): the caller refuses it
        return href


def well_formed(url: str) -> bool:
    """Whether ``url`` parses at all (``http://[domain]/`` does not)."""
    try:
        urlsplit(url)
    except ValueError:
        return False
    return True


def parameter_names(url: str) -> tuple[str, ...]:
    """The names of the query parameters of ``url``, as written, in order."""
    return tuple(p.partition("=")[0] for p in _parameters(urlsplit(url).query))


def _parameters(query: str) -> list[str]:
    return [p for p in query.split("&") if p]


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
        written = {p.partition("=")[0]: p for p in _parameters(parts.query)}
        return urlunsplit(parts._replace(query="&".join(written[name] for name in usual)))


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
        digest.update(request.method.encode())
        digest.update(request.url.split("#", 1)[0].encode())
        digest.update(request.body or b"")
        return digest.digest()
