"""Filters as terms of the search tables, and reading a query's matches through them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from archive.filters import Filters
from archive.query import Query
from archive.search.tables import AUX_TABLE, FTS_TABLE
from archive.search.terms import UNDATED, date_cover, meta_token, month_end, period_of
from archive.units import portals_in_province

if TYPE_CHECKING:
    from archive.search.tables import Connection

PROBE = 2000  # newest-first reads every match when there are at most this many


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
    first, last = _archive_years(db)
    if filters.since:
        first = _bound(filters.since, 0)
    if filters.until:
        last = _bound(filters.until, 1)
    return Scope(tokens, first, last, dated=bool(filters.since or filters.until))


def _bound(value: str, end: int) -> date:
    period = period_of(value)
    assert period is not None, value  # Filters checked it
    return period[end]


def _archive_years(db: Connection) -> tuple[date, date]:
    """From the first day of the archive's first year to the last of its last."""
    # Two index seeks (min and max in one query would read the whole index).
    low, high = (db.execute(f"select published from articles where published >= '0' "
                            f"order by published {d} limit 1").fetchone() for d in ("", "desc"))
    low, high = (low or [None])[0], (high or [None])[0]
    first, last = period_of((low or "")[:4]), period_of((high or "")[:4])
    return (first[0] if first else date(1900, 1, 1)), (last[1] if last else date.today())


@dataclass
class Scope:
    """Filters resolved: every list of ``meta`` tokens must have one of its tokens (an empty
    list: nothing can match), and, when ``dated``, the date be within [first, last]."""

    meta: list[list[str]]
    first: date
    last: date
    dated: bool = False

    @property
    def empty(self) -> bool:
        return any(not group for group in self.meta) or self.first > self.last

    def expression(self, column: str = "", days: tuple[date, date] | None = None) -> str:
        """The filters as an FTS5 expression to AND with a query's (in ``column``); ``days``
        narrows the dates further (one month of a newest-first walk)."""
        groups = list(self.meta)
        if days is not None:
            groups.append(date_cover(max(days[0], self.first), min(days[1], self.last))
                          if days[0] else [UNDATED])
        elif self.dated:
            groups.append(date_cover(self.first, self.last))
        prefix = f"{column} : " if column else ""
        return "".join(f" AND {prefix}(" + " OR ".join(f'"{t}"' for t in group) + ")"
                       for group in groups)

    def months(self, descending: bool) -> list[tuple[date | None, date]]:
        """The months of the scope in date order, undated articles (None) last when
        ``descending`` (as SQL sorts no date below any), first otherwise."""
        months = []
        day = date(self.first.year, self.first.month, 1)
        while day <= self.last:
            months.append((day, month_end(day)))
            day = month_end(day) + timedelta(days=1)
        undated = [] if self.dated else [(None, date.min)]
        return months[::-1] + undated if descending else undated + months


@dataclass
class Source:
    """Where a query tier's matches are read: a table, the query's expression, and the
    column the filter terms are in ("" in ``search_aux``, which has only one)."""

    table: str
    query: str
    column: str

    def _match(self, scope: Scope, days: tuple[date | None, date] | None = None) -> str:
        return f"({self.query})" + scope.expression(self.column, days)

    def matching(self, db: Connection, scope: Scope, *, limit: int = -1,
                 days: tuple[date | None, date] | None = None) -> list[int]:
        """Rowids of matches, the last indexed first."""
        return [r for (r,) in db.execute(
            f"select rowid from {self.table} where {self.table} match ? "
            "order by rowid desc limit ?", [self._match(scope, days), limit])]

    def count(self, db: Connection, scope: Scope) -> int:
        return db.execute(f"select count(*) from {self.table} where {self.table} match ?",
                          [self._match(scope)]).fetchone()[0]

    def by_date(self, db: Connection, scope: Scope, *, limit: int, offset: int,
                descending: bool) -> list[int]:
        """Rowids of matches in publication order: all of them sorted when there are few,
        else month by month from the newest (or oldest) until the page is full."""
        found = self.matching(db, scope, limit=PROBE + 1)
        if len(found) > PROBE:
            found = []
            for days in scope.months(descending):
                found += self.matching(db, scope, days=days)
                if len(found) >= offset + limit:
                    break
        if not found:
            return []
        direction = "desc" if descending else "asc"
        return [r for (r,) in db.execute(
            f"select rowid from articles where rowid in ({', '.join(map(str, found))}) "
            f"order by published {direction}, rowid {direction} limit ? offset ?",
            [limit, offset])]


def source_for(query: Query, tier: str) -> Source:
    prefix = query.short_prefix
    if prefix:
        return Source(AUX_TABLE, f'"p{prefix}"', "")
    return Source(FTS_TABLE, query.fts(tier), "meta")
