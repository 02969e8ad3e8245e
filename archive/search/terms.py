"""What an article is in the search tables: its word forms, and its filter terms (portal,
source, category, and the date as year, month and day, so that a date range is the fewest of
them that cover it)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from typing import Any

from archive.search.tables import LIVE
from archive.vietnamese import exact_text, folded_text, word_pairs

_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def period_of(text: str | None) -> tuple[date, date] | None:
    """The first and last day of ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (None otherwise)."""
    m = _DATE.match(text or "")
    if not m:
        return None
    year, month, day = (int(x) if x else None for x in m.groups())
    try:
        first = date(year, month or 1, day or 1)
        if day:
            return first, first
        if month:
            return first, month_end(first)
        return first, date(year, 12, 31)
    except ValueError:
        return None


def month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def date_tokens(published: str | None) -> list[str]:
    """An article's year, month and day as terms (``y0`` when it has no date): a date range
    is the fewest of them that cover it."""
    period = period_of((published or "")[:10])
    if period is None:
        return [UNDATED]
    day = period[0]
    return [f"y{day:%Y}", f"n{day:%Y%m}", f"d{day:%Y%m%d}"]


def date_cover(first: date, last: date) -> list[str]:
    """The fewest year, month and day terms that cover ``first`` through ``last``."""
    tokens = []
    day = first
    while day <= last:
        if day.month == 1 and day.day == 1 and date(day.year, 12, 31) <= last:
            tokens.append(f"y{day:%Y}")
            day = date(day.year + 1, 1, 1)
        elif day.day == 1 and month_end(day) <= last:
            tokens.append(f"n{day:%Y%m}")
            day = month_end(day) + timedelta(days=1)
        else:
            tokens.append(f"d{day:%Y%m%d}")
            day += timedelta(days=1)
    return tokens


def meta_token(kind: str, value: str) -> str:
    return kind + unicodedata.normalize("NFC", value.strip()).casefold().encode().hex()


def meta_tokens(row: dict[str, Any]) -> list[str]:
    """The tokens filters look for: the portal, where the capture came from, the category
    when there is one, the date."""
    tokens = [meta_token("m", row.get("portal") or ""),
              meta_token("s", row.get("source") or LIVE)]
    if row.get("category"):
        tokens.append(meta_token("c", row["category"]))
    return tokens + date_tokens(row.get("published"))


def search_columns(row: dict[str, Any]) -> list[str]:
    """The word forms the search index holds for an article (``title``, ``summary``, ``text``).

    Computed where the article is extracted (the crawl's page-reading process), so that the
    process writing the index does not spend its time on them.
    """
    body = "\n".join(x for x in (row.get("summary"), row.get("text")) if x)
    return [folded_text(row.get("title")), folded_text(body),
            exact_text(row.get("title")), exact_text(body)]


def pairs_text(columns: list[str]) -> str:
    """The adjacent pairs of folded words of the title and of the body (``search_columns``'
    first two), as the ``pairs`` column holds them: ``nong-thon thon-moi``."""
    return " ".join(pair for column in columns[:2] for pair in word_pairs(column.split()))


UNDATED = "y0"  # the date term of an article without a date
