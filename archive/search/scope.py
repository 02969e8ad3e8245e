"""Filters as terms of the search tables, and reading a query's matches through them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from archive.filters import Filters
from archive.query import Query, Term
from archive.search.tables import AUX_TABLE, FTS_TABLE, TERMS_TABLE
from archive.search.terms import UNDATED, date_cover, meta_token, period_of
from archive.units import portals_in_province
from archive.vietnamese import fold_word, word_pairs

if TYPE_CHECKING:
    from archive.search.tables import Connection

PROBE = 2000  # newest-first reads every match when there can be at most this many
SPAN = 1000  # a span of days with at most this many articles in scope is checked one by one


def filter_scope(db: Connection, filters: Filters) -> Scope:
    """The filters as terms of the search tables."""
    groups: list[list[str]] = []
    if filters.portals:
        groups.append(list(filters.portals))
    if filters.province:
        groups.append(portals_in_province(db, filters.province))
    if filters.district:
        groups.append([p for (p,) in db.execute(
            "select id from portals where district = ? collate nocase", [filters.district])])
    tokens = [[meta_token("m", p) for p in group] for group in groups]
    if filters.category:
        tokens.append([meta_token("c", filters.category)])
    if filters.sources:
        tokens.append([meta_token("s", source) for source in filters.sources])
    first, last = _archive_days(db)
    # Where a bound is the archive's own, the filter's terms reach the end of its year: no
    # article lies beyond it, and whole years are a few terms where days are dozens (an OR
    # of dozens of terms is most of a search's time under a narrow filter).
    cover_first, cover_last = date(first.year, 1, 1), date(last.year, 12, 31)
    if filters.since:
        first = cover_first = _bound(filters.since, 0)
    if filters.until:
        last = cover_last = _bound(filters.until, 1)
    return Scope(tokens, first, last, dated=bool(filters.since or filters.until),
                 cover=(cover_first, cover_last))


def _bound(value: str, end: int) -> date:
    period = period_of(value)
    assert period is not None, value  # Filters checked it
    return period[end]


def _archive_days(db: Connection) -> tuple[date, date]:
    """The archive's first and last publication days."""
    # Two index seeks (min and max in one query would read the whole index).
    low, high = (db.execute(f"select published from articles where published >= '0' "
                            f"order by published {d} limit 1").fetchone() for d in ("", "desc"))
    first, last = (_day_of((row or [None])[0], end) for row, end in ((low, 0), (high, 1)))
    return first or date(1900, 1, 1), last or date.today()


def _day_of(published: str | None, end: int) -> date | None:
    """The day (or failing that the month, the year) a ``published`` value starts with."""
    for size in (10, 7, 4):
        if period := period_of((published or "")[:size]):
            return period[end]
    return None


@dataclass
class Scope:
    """Filters resolved: every list of ``meta`` tokens must have one of its tokens (an empty
    list: nothing can match), and, when ``dated``, the date be within [first, last]."""

    meta: list[list[str]]
    first: date
    last: date
    dated: bool = False
    cover: tuple[date, date] | None = None  # the dates the filter's terms cover (default:
    #                                          first to last)

    @property
    def empty(self) -> bool:
        return any(not group for group in self.meta) or self.first > self.last

    def expression(self, column: str = "", days: tuple[date, date] | None = None) -> str:
        """The filters as an FTS5 expression to AND with a query's (in ``column``); ``days``
        narrows the dates further (one span of a newest-first walk)."""
        groups = list(self.meta)
        if days is not None:
            groups.append(date_cover(max(days[0], self.first), min(days[1], self.last))
                          if days[0] else [UNDATED])
        elif self.dated:
            groups.append(date_cover(*(self.cover or (self.first, self.last))))
        prefix = f"{column} : " if column else ""
        return "".join(f" AND {prefix}(" + " OR ".join(f'"{t}"' for t in group) + ")"
                       for group in groups)

    def rowids(self, db: Connection, most: int) -> set[int] | None:
        """The rowids of the articles in scope when there are at most ``most``; None when
        there are more, or no filter."""
        expression = self.expression()[len(" AND "):]
        if not expression:
            return None
        rows = db.execute(f"select rowid from {AUX_TABLE} where {AUX_TABLE} match ? limit ?",
                          [expression, most + 1]).fetchall()
        return {r for (r,) in rows} if len(rows) <= most else None

    def span(self, descending: bool, skip: int, days: int) -> tuple[date, date] | None:
        """``days`` days of the scope past its ``skip`` newest (or oldest) ones, None when
        there are none left."""
        low, high = self.first.toordinal(), self.last.toordinal()
        if descending:
            end = high - skip
            start = max(low, end - days + 1)
        else:
            start = low + skip
            end = min(high, start + days - 1)
        return (date.fromordinal(start), date.fromordinal(end)) if start <= end else None


@dataclass
class Source:
    """Where a query tier's matches are read: a table, the query's expression, and the
    column the filter terms are in ("" in ``search_aux``, which has only one)."""

    table: str
    query: str
    column: str
    # The last read (its expression and limit, and its rowids): ranking asks the same twice
    # (a long phrase's count, then its newest matches), and a narrow filter makes it slow.
    _last: tuple[str, int, list[int]] | None = field(default=None, repr=False)

    def _match(self, scope: Scope | None, days: tuple[date | None, date] | None = None) -> str:
        return f"({self.query})" + (scope.expression(self.column, days) if scope else "")

    def matching(self, db: Connection, scope: Scope | None, *, limit: int = -1,
                 days: tuple[date | None, date] | None = None) -> list[int]:
        """Rowids of matches (in ``scope``, or anywhere when None), the last indexed first."""
        match = self._match(scope, days)
        if self._last is not None and self._last[0] == match:
            read, found = self._last[1], self._last[2]
            if read < 0 or len(found) < read or 0 <= limit <= read:  # all, or enough
                return found[:limit] if limit >= 0 else list(found)
        found = [r for (r,) in db.execute(
            f"select rowid from {self.table} where {self.table} match ? "
            "order by rowid desc limit ?", [match, limit])]
        self._last = (match, limit, found)
        return list(found)

    def count(self, db: Connection, scope: Scope) -> int:
        return db.execute(f"select count(*) from {self.table} where {self.table} match ?",
                          [self._match(scope)]).fetchone()[0]

    def among(self, db: Connection, rowids: list[int]) -> list[int]:
        """Those of ``rowids`` (in scope already) that match the query. FTS5 starts the
        expression over for each of them: the fewer its terms, the better; and no ``order
        by``, which would make SQLite read every match and keep those."""
        if not rowids:
            return []
        return [r for (r,) in db.execute(
            f"select rowid from {self.table} where {self.table} match ? and rowid in "
            f"({', '.join(map(str, rowids))})", [self.query])]

    def by_date(self, db: Connection, scope: Scope, *, limit: int, offset: int,
                descending: bool, broad: bool,
                keep: Callable[[list[int]], list[int]] | None = None) -> list[int]:
        """Rowids of matches in publication order: all of them sorted unless the query is
        ``broad`` (it may match more than ``PROBE``), else span by span of days from the
        newest (or oldest) until the page is full, each span sized from the matches found
        per day so far (one day first, at most twice the last). Undated articles come last
        newest first, first oldest first (as SQL sorts no date below any). ``keep`` drops
        the rowids that the FTS5 expression found but that do not match (a phrase's pairs
        apart)."""
        if not broad:
            found = self.matching(db, scope)
            return _page(db, found, descending, limit, offset, keep)
        keep = keep or list
        wanted, found = offset + limit, []
        undated = [] if scope.dated else [(None, date.min)]
        if not descending:
            found += keep(self._in_span(db, scope, undated.pop())) if undated else []
        skip, days = 0, 1
        while len(found) < wanted and (days_span := scope.span(descending, skip, days)):
            found += keep(self._in_span(db, scope, days_span))
            skip += (days_span[1] - days_span[0]).days + 1
            rate = len(found) / skip
            need = math.ceil(1.5 * (wanted - len(found)) / rate) if rate else 2 * days
            days = max(1, min(2 * days, need))
        if undated and len(found) < wanted:
            found += keep(self._in_span(db, scope, undated[0]))
        return _page(db, found, descending, limit, offset, None)

    def _in_span(self, db: Connection, scope: Scope, days: tuple[date | None, date]
                 ) -> list[int]:
        """Matches in a span of days. When the span holds few articles in scope, those
        (filter and date terms alone: short doclists) are checked against the query one by
        one: with a narrow filter FTS5 would otherwise leapfrog the query's long doclists
        through the whole archive."""
        in_scope = db.execute(f"select rowid from {AUX_TABLE} where {AUX_TABLE} match ? "
                              "limit ?", [scope.expression("", days)[len(" AND "):],
                                          SPAN + 1]).fetchall()
        if len(in_scope) <= SPAN:
            return self.among(db, [r for (r,) in in_scope])
        return self.matching(db, scope, days=days)


def _page(db: Connection, found: list[int], descending: bool, limit: int, offset: int,
          keep: Callable[[list[int]], list[int]] | None) -> list[int]:
    """A page of ``found`` in publication order; with ``keep``, those it keeps, checked in
    that order only until the page is full (a check reads the article's text)."""
    if not found:
        return []
    direction = "desc" if descending else "asc"
    ordered = [r for (r,) in db.execute(
        f"select rowid from articles where rowid in ({', '.join(map(str, found))}) "
        f"order by published {direction}, rowid {direction}")]
    if keep is None:
        return ordered[offset:offset + limit]
    kept: list[int] = []
    wanted = offset + limit
    for start in range(0, len(ordered), wanted):
        kept += keep(ordered[start:start + wanted])
        if len(kept) >= wanted:
            break
    return kept[offset:offset + limit]


def term_names(term: Term) -> list[str]:
    """The ``search_terms`` names that bound how many articles hold the term, and how much
    it weighs in one: its word, each pair of adjacent words of a phrase (a phrase is no
    more frequent, and weighs no more, than any of its pairs), the first three letters of a
    prefix."""
    folded = [fold_word(w) for w in term.words]
    if term.prefix:
        return [folded[0][:3] + "*"] if len(folded[0]) >= 2 else []
    return word_pairs(folded) if len(folded) > 1 else folded


def most_matches(db: Connection, query: Query) -> float:
    """An upper bound of the articles the query matches (diacritics ignored), from the
    counts of ``search_terms``: a group of terms matches no more than its rarest; a word
    or pair that ``search_terms`` does not hold was in too few sampled articles to be
    counted, and counts as none (an archive with no counts learned is small)."""
    names = sorted({n for t in query.terms for n in term_names(t)})
    known = dict(db.execute(f"select term, df from {TERMS_TABLE} where term in "
                            f"({', '.join('?' * len(names))})", names)) if names else {}
    return sum(min((min((known.get(n, 0.0) for n in term_names(t)), default=math.inf)
                    for t in group), default=0.0) for group in query.groups)


def is_broad(db: Connection, query: Query, source: Source, scope: Scope) -> bool:
    """Whether the query may match more than ``PROBE`` articles: by ``most_matches``, and
    for a phrase of three words or more, by counting its matches up to that (each of its
    pairs can be frequent while they seldom follow each other: a person's name)."""
    if most_matches(db, query) <= PROBE:
        return False
    if not query.long_phrase:
        return True
    return len(source.matching(db, scope, limit=PROBE + 1)) > PROBE


def source_for(query: Query, tier: str) -> Source:
    prefix = query.short_prefix
    if prefix:
        return Source(AUX_TABLE, f'"p{prefix}"', "")
    return Source(FTS_TABLE, query.fts(tier), "meta")
