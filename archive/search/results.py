"""A search's hits (and count): the query parsed, the filters resolved, the matches ranked
or sorted by date, and each hit read from the articles table with a snippet."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from archive.filters import Filters
from archive.query import Query, QueryError, parse_query
from archive.search.ranking import CANDIDATES, relevance_order
from archive.search.scope import filter_scope, is_broad, source_for
from archive.search.scoring import Scorer
from archive.search.snippets import snippet

if TYPE_CHECKING:
    from archive.search.tables import Connection

SORTS = ("relevance", "newest", "oldest")


HIT_COLUMNS = ("id", "url", "portal", "title", "published", "category", "author",
               "source", "captured", "warc_file", "warc_offset", "warc_length", "payload_digest")


def search(db: Connection, text: str, *, filters: Filters | None = None,
           sort: str = "relevance", limit: int = 20, offset: int = 0, exact: bool = False,
           candidates: int = CANDIDATES) -> list[dict[str, Any]]:
    """Hits for what a user typed, best first; each hit carries its WARC pointer and a
    snippet with the matched words between ``\\x02`` and ``\\x03``. ``candidates`` bounds
    how many articles are scored per tier (``archive/search/ranking.py``)."""
    query = parse_query(text)
    if sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}")
    scope = filter_scope(db, filters or Filters())
    if scope.empty:
        return []
    if sort == "relevance":
        keys = relevance_order(db, query, scope, exact, offset + limit,
                                max(candidates, offset + limit))[offset:offset + limit]
    else:
        tier = "exact" if exact else "folded"
        source = source_for(query, tier)
        keys = source.by_date(db, scope, limit=limit, offset=offset,
                              descending=sort == "newest",
                              broad=is_broad(db, query, source, scope),
                              keep=_checker(db, query, tier))
    if not keys:
        return []
    rowids = keys
    cursor = db.execute(f"select rowid, {', '.join(HIT_COLUMNS)}, summary, text from articles "
                        f"where rowid in ({', '.join('?' * len(rowids))})", rowids)
    names = [d[0] for d in cursor.description]
    rows = {values[0]: dict(zip(names, values, strict=True)) for values in cursor}
    hits = []
    for rowid in rowids:
        row = rows.get(rowid)
        if row is None:  # an index row whose article is gone: nothing to show
            continue
        body = "\n".join(x for x in (row.pop("summary"), row.pop("text")) if x)
        row.pop("rowid")
        row["snippet"] = snippet(body, query)
        hits.append(row)
    return hits


def count(db: Connection, text: str, *, filters: Filters | None = None,
          exact: bool = False) -> int:
    """How many articles match (diacritics ignored unless ``exact``)."""
    query = parse_query(text)
    scope = filter_scope(db, filters or Filters())
    if scope.empty:
        return 0
    tier = "exact" if exact else "folded"
    source = source_for(query, tier)
    keep = _checker(db, query, tier)
    if keep is None:
        return source.count(db, scope)
    # Every article the expression finds is checked against its text (a phrase of three
    # words or more, or with diacritics): a fraction of a millisecond each.
    return len(keep(source.matching(db, scope)))


def _checker(db: Connection, query: Query, tier: str) -> Callable[[list[int]], list[int]] | None:
    """What keeps, of the rowids a query's FTS5 expression finds, those that match it
    (``Query.needs_check``); None when they all do."""
    return Scorer(db, query, tier).holding if query.needs_check(tier) else None
