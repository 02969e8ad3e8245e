"""What a page says about itself outside its visible text: <meta>, <title>, JSON-LD.

Publisher and site names are collected so that a ``<meta name="author">`` holding the site's
own name is not taken for a byline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml import html

from .normalize import norm

# Separators between a headline and the site name in <title>.
TITLE_SEP = re.compile(r"\s+[-|–—:»]\s+")
_ARTICLE_TYPE = re.compile(r"\barticle\b|NewsArticle|BlogPosting|Report", re.I)
_LD_KEYS = ("datePublished", "dateModified", "articleSection", "headline", "description")


@dataclass(slots=True)
class Meta:
    """<meta> values by lower-cased name/property, <title>, and JSON-LD fields."""

    values: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    ld: dict[str, str] = field(default_factory=dict)    # first value of each _LD_KEYS
    ld_types: set[str] = field(default_factory=set)
    ld_authors: list[str] = field(default_factory=list)  # Person names, in order
    site_names: set[str] = field(default_factory=set)    # site, publisher, host names

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    @property
    def declared_article(self) -> bool:
        """The page says it is an article: og:type, or a JSON-LD article type."""
        kinds = " ".join([self.values.get("og:type", ""), *self.ld_types])
        return bool(_ARTICLE_TYPE.search(kinds))

    def title_refs(self) -> tuple[set[str], set[str]]:
        """Headline texts the page declares (lower-cased): og/twitter title, JSON-LD headline,
        <title> and each of its prefixes cut at a separator; and the site-name segment of
        <title> (a site-name <h1> in the header is not the headline)."""
        refs = {self.values.get("og:title"), self.values.get("twitter:title"),
                self.ld.get("headline"), self.title}
        title = self.title or ""
        cuts = list(TITLE_SEP.finditer(title))
        refs.update(title[:m.start()] for m in cuts)
        sites = {title[cuts[-1].end():].lower()} if cuts else set()
        return {r.lower() for r in refs if r}, sites


def read_meta(tree: html.HtmlElement, url: str = "") -> Meta:
    """Read <meta>, <title> and JSON-LD once."""
    meta = Meta()
    head = tree.find("head")
    scope = head if head is not None else tree
    for m in scope.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        value = m.get("content")
        if key and value and key not in meta.values:
            meta.values[key] = norm(value)
    title = tree.findtext(".//title")
    if title:
        meta.title = norm(title)
    for s in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(s.text or "", strict=False)
        except ValueError:
            continue
        for item in _ld_items(data):
            _read_ld_item(meta, item)
    for key in ("og:site_name", "application-name", "twitter:site"):
        if meta.values.get(key):
            meta.site_names.add(meta.values[key])
    host = urlsplit(url).hostname or ""
    if host:
        meta.site_names.add(host.removeprefix("www."))
    return meta


def _read_ld_item(meta: Meta, item: dict) -> None:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    meta.ld_types.update(k for k in kinds if isinstance(k, str))
    if any(k in ("Organization", "WebSite", "NewsMediaOrganization") for k in kinds):
        if isinstance(item.get("name"), str):
            meta.site_names.add(norm(item["name"]))
    for key in _LD_KEYS:
        value = item.get(key)
        if isinstance(value, str) and value.strip() and key not in meta.ld:
            meta.ld[key] = norm(value)
    publisher = item.get("publisher")
    if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
        meta.site_names.add(norm(publisher["name"]))
    _read_ld_authors(meta, item.get("author"))


def _read_ld_authors(meta: Meta, authors: object) -> None:
    """JSON-LD ``author``: a name, an object, or a list of them. A Person is an author; an
    Organization signing the article is the site."""
    for author in authors if isinstance(authors, list) else [authors]:
        if isinstance(author, str):
            name, kind = author, "Person"
        elif isinstance(author, dict) and isinstance(author.get("name"), str):
            name, kind = author["name"], author.get("@type", "Person")
        else:
            continue
        name = norm(name)
        if not name:
            continue
        if kind == "Person":
            if name not in meta.ld_authors:
                meta.ld_authors.append(name)
        else:
            meta.site_names.add(name)


def _ld_items(data: object) -> list[dict]:
    if isinstance(data, list):
        return [d for item in data for d in _ld_items(item)]
    if isinstance(data, dict):
        items = [data]
        if isinstance(data.get("@graph"), list):
            items += [d for item in data["@graph"] for d in _ld_items(item)]
        return items
    return []
