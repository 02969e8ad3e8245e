"""CMS families: detected from markup, each with a few selectors kept as data.

Rules only add precision (a known content container, sapo or author element); extraction
must already work without them (``family_rules=False``).  Families are CMS products and
portal platforms, recognised by their markup, never by host name.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import html


@dataclass(frozen=True, slots=True)
class Family:
    """Markup marker (XPath that must match) and the family's own element classes."""

    name: str
    marker: str
    content: tuple[str, ...] = ()   # XPaths of the body container, first match wins
    sapo: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    title: tuple[str, ...] = ()
    date: tuple[str, ...] = ()


def _cls(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


FAMILIES: tuple[Family, ...] = (
    Family(
        name="sharepoint-portal",
        marker="//div[contains(@class, 'ms-rtestate-field')]",
        content=(f"//div[{_cls('ms-rtestate-field')}]",),
        title=(f"//*[{_cls('title-detail')}]",),
        date=(f"//*[{_cls('date-detail')}]",),
    ),
    Family(
        name="mastercms",
        marker="//div[contains(@class, '__MASTERCMS_CONTENT')]",
        content=(f"//div[{_cls('__MB_MASTERCMS_EL')}]",),
        sapo=(f"//*[{_cls('article-sapo')}]",),
        author=(f"//div[{_cls('__MB_ARTICLE_A')}]",),
        title=(f"//*[{_cls('article-title')}]",),
    ),
    Family(
        name="aspnet-portal-noidungtin",
        marker=f"//div[{_cls('NoiDungTin')}]",
        content=(f"//div[{_cls('NoiDungTin')}]",),
        title=(f"//*[{_cls('TieuDeTin')}]",),
        date=(f"//*[{_cls('NgayCapNhat')}]",),
    ),
    Family(
        name="bootstrap-portal-news-detail",
        marker=f"//div[{_cls('news-detail')}]",
        content=(f"//div[{_cls('news-content')}]",),
        sapo=(f"//div[{_cls('news-sapo')}]",),
        author=(f"//div[{_cls('news-author')}]",),
        title=(f"//*[{_cls('news-title')}]",),
    ),
)


def detect(tree: html.HtmlElement) -> Family | None:
    """The first family whose marker matches the page."""
    for fam in FAMILIES:
        if tree.xpath(fam.marker):
            return fam
    return None


def first(tree: html.HtmlElement, xpaths: tuple[str, ...]) -> html.HtmlElement | None:
    """First element matched by any of ``xpaths``."""
    for xp in xpaths:
        found = tree.xpath(xp)
        if found:
            return found[0]
    return None
