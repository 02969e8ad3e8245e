"""Vietnamese full-text search over the index's articles.

Two contentless FTS5 tables, keyed by the ``articles`` rowid, hold what search needs:

- ``search_fts``: the title and the body (summary and text) twice, as folded words and as
  exact words (``archive.vietnamese``), with positions for phrases; and ``meta``: terms for
  the portal, the category and the date (year, month and day), so that a filter is terms
  FTS5 intersects with the query's own, skipping through the longer doclists with their
  indexes, and a date range is the fewest years, months and days that cover it.
- ``search_aux`` (no positions, a tenth of the text's size): the 2- and 3-letter prefixes of
  every folded word, so that ``ng*`` is one doclist rather than a merge of every word that
  starts with ng; the same filter terms; and *impact tiers*: for each frequent word (and
  prefix), the articles where it weighs the most in bm25 (below), in six levels from its top
  0.01% to its top 3%, with thresholds learned from a sample of the archive (``search_terms``).

Newest-first reads every match and sorts them when there are few (``PROBE``); otherwise it
walks the months from the newest, one FTS5 query each, until the page is full.

A query is parsed here, never handed to FTS5 as typed, so any text a user types is valid.

Ranking (``--sort relevance``): articles that match the words exactly as typed (with their
diacritics) come first, then those that match only once folded (a tier that is not searched
when the exact one fills the page). Inside a tier, articles are ordered by bm25 exactly as
FTS5's ``bm25()`` computes it (k1 = 1.2, b = 0.75, a match in the title counting ten times one
in the body, idf from the number of articles holding each term, length from FTS5's own
counts), computed here for a set of candidates: every match when there are at most
``CANDIDATES``; otherwise the matches among the impact tiers of the query's words, from the
finest level down, until there are enough. For one word that is bm25's own top; for several
words it is an approximation, whose overlap with bm25 over every match ``bench/search_bench.py``
measures. FTS5's ``bm25()`` itself is not used: it counts every match of every term in the
whole index first, seconds for a common word at a million articles.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import time
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.filters import Filters
from archive.query import Query, QueryError, Term, parse_query
from archive.units import portals_in_province
from archive.vietnamese import WORD, exact_text, exact_word, fold_word, folded_text, words

if TYPE_CHECKING:
    import sqlite_utils

    Connection = sqlite3.Connection | sqlite_utils.Database

FTS_TABLE = "search_fts"
AUX_TABLE = "search_aux"
TERMS_TABLE = "search_terms"
META_TABLE = "search_meta"
FTS_COLUMNS = ("title_f", "body_f", "title_x", "body_x", "meta")
TITLE_WEIGHT = 10.0
BM25_K1, BM25_B = 1.2, 0.75  # FTS5's bm25() constants
CANDIDATES = 400  # at most this many articles are scored per tier
# The impact tiers: the share of a word's articles each level holds, finest first.
LEVELS = (0.0001, 0.000316, 0.001, 0.00316, 0.01, 0.0316)
SAMPLE = 10000  # articles read to learn the tiers' thresholds
MIN_SAMPLE_DF = 5  # a word in fewer sampled articles gets no tiers (it is rare enough)
PROBE = 2000  # newest-first reads every match when there are at most this many
SORTS = ("relevance", "newest", "oldest")
LIVE = "live"  # an article's source when the row does not say (articles.source's default)
# The condition on ``articles a`` that keeps the matches of one FTS5 expression (a parameter).
MATCHES = f"a.rowid in (select rowid from {FTS_TABLE} where {FTS_TABLE} match ?)"
# The migration (archive/index.py) that made the search tables what this module reads.
SEARCH_MIGRATION = "m_search_001_filter_terms_tiers_provinces"


# -- dates as terms ---------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def _period(text: str | None) -> tuple[date, date] | None:
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
            return first, _month_end(first)
        return first, date(year, 12, 31)
    except ValueError:
        return None


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def date_tokens(published: str | None) -> list[str]:
    """An article's year, month and day as terms (``y0`` when it has no date): a date range
    is the fewest of them that cover it."""
    period = _period((published or "")[:10])
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
        elif day.day == 1 and _month_end(day) <= last:
            tokens.append(f"n{day:%Y%m}")
            day = _month_end(day) + timedelta(days=1)
        else:
            tokens.append(f"d{day:%Y%m%d}")
            day += timedelta(days=1)
    return tokens


def _meta_token(kind: str, value: str) -> str:
    return kind + unicodedata.normalize("NFC", value.strip()).casefold().encode().hex()


def meta_tokens(row: dict[str, Any]) -> list[str]:
    """The tokens filters look for: the portal, where the capture came from, the category
    when there is one, the date."""
    tokens = [_meta_token("m", row.get("portal") or ""),
              _meta_token("s", row.get("source") or LIVE)]
    if row.get("category"):
        tokens.append(_meta_token("c", row["category"]))
    return tokens + date_tokens(row.get("published"))


# -- keeping the index in step with the articles table ----------------------------------------

def search_columns(row: dict[str, Any]) -> list[str]:
    """The word forms the search index holds for an article (``title``, ``summary``, ``text``).

    Computed where the article is extracted (the crawl's page-reading process), so that the
    process writing the index does not spend its time on them.
    """
    body = "\n".join(x for x in (row.get("summary"), row.get("text")) if x)
    return [folded_text(row.get("title")), folded_text(body),
            exact_text(row.get("title")), exact_text(body)]


_FIRST2, _FIRST3 = itemgetter(slice(0, 2)), itemgetter(slice(0, 3))


def _weights(columns: list[str]) -> tuple[Counter[str], dict[str, float], int]:
    """An article's folded words and 2- and 3-letter prefixes, each with its term frequency
    weighted as bm25 weighs it here (a title match counts ``TITLE_WEIGHT`` times), and the
    number of words (the article's length in the search table is twice that, plus meta)."""
    title, body = columns[0].split(), columns[1].split()
    counts = [Counter(body), Counter(map(_FIRST2, body)), Counter(map(_FIRST3, body))]
    for counter, in_title in zip(counts, (title, map(_FIRST2, title), map(_FIRST3, title)),
                                 strict=True):
        for key, n in Counter(in_title).items():
            counter[key] += TITLE_WEIGHT * n
    weighted, two, three = counts
    by_prefix = {k: v for k, v in two.items() if len(k) == 2}
    by_prefix.update((k, v) for k, v in three.items() if len(k) == 3)
    return weighted, by_prefix, len(title) + len(body)


@dataclass
class Tiers:
    """What decides which impact tiers an article's words go to (``search_terms``)."""

    average_length: float = 0.0
    words: dict[str, tuple[float, ...]] = field(default_factory=dict)
    prefixes: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def norm(self, length: int) -> float:
        """bm25's length normalisation: a word's weight in an article, less its idf (the
        same for every article), is ``tf / (tf + norm)``."""
        return BM25_K1 * (1 - BM25_B + BM25_B * length / (self.average_length or 1.0))

    def tokens(self, columns: list[str], meta: list[str]) -> list[str]:
        """The ``search_aux`` tokens of an article: its prefixes, tiers and meta tokens."""
        weighted, by_prefix, n = _weights(columns)
        out = [f"p{p}" for p in by_prefix]
        if self.words:
            norm = self.norm(2 * n + len(meta))
            for kind, counts, levels in (("t", weighted, self.words),
                                         ("u", by_prefix, self.prefixes)):
                for word, tf in counts.items():
                    thresholds = levels.get(word)
                    if thresholds and (impact := tf / (tf + norm)) >= thresholds[-1]:
                        level = next(k for k, t in enumerate(thresholds, 1) if impact >= t)
                        out.append(f"{kind}{level}{word}")
        return out + meta


_tiers_cache: dict[tuple[str, float | None], Tiers] = {}


def _conn(db: Connection) -> sqlite3.Connection:
    return getattr(db, "conn", db)


def _tiers(db: Connection) -> Tiers:
    """The tiers' thresholds, read once per process and per learning (``search_meta``'s
    ``learned`` tells one learning from the next, in this file or a rebuilt one)."""
    conn = _conn(db)
    learned = conn.execute(f"select value from {META_TABLE} where name = 'learned'").fetchone()
    cache_key = (conn.execute("pragma database_list").fetchone()[2],
                 learned[0] if learned else None)
    if cache_key not in _tiers_cache:
        tiers = Tiers()
        meta = dict(conn.execute(f"select name, value from {META_TABLE}"))
        tiers.average_length = meta.get("average_length", 0.0)
        for term, *levels in conn.execute(
                f"select term, l1, l2, l3, l4, l5, l6 from {TERMS_TABLE} where l1 is not null"):
            if term.endswith("*"):
                tiers.prefixes[term[:-1]] = tuple(levels)
            else:
                tiers.words[term] = tuple(levels)
        _tiers_cache[cache_key] = tiers
    return _tiers_cache[cache_key]


def _rows(db: Connection, rowid: int, row: dict[str, Any],
          columns: list[str] | None) -> tuple[list[Any], list[Any]]:
    columns = columns or search_columns(row)
    meta = meta_tokens(row)
    return ([rowid, *columns, " ".join(meta)],
            [rowid, " ".join(_tiers(db).tokens(columns, meta))])


def index_article(db: Connection, rowid: int, row: dict[str, Any],
                  columns: list[str] | None = None) -> None:
    """Add one article (its ``articles`` rowid and row, and its ``search_columns`` if known)
    to the search index."""
    main, aux = _rows(db, rowid, row, columns)
    db.execute(f"insert into {FTS_TABLE}(rowid, {', '.join(FTS_COLUMNS)}) "
               "values (?, ?, ?, ?, ?, ?)", main)
    db.execute(f"insert into {AUX_TABLE}(rowid, tokens) values (?, ?)", aux)


def unindex_article(db: Connection, rowid: int, row: dict[str, Any]) -> None:
    """Remove an article as it was indexed (a contentless table needs the old values; the
    tiers it went to are the same as long as ``search_terms`` is, and ``maintain`` rewrites
    every article's when it changes that)."""
    main, aux = _rows(db, rowid, row, None)
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, {', '.join(FTS_COLUMNS)}) "
               "values ('delete', ?, ?, ?, ?, ?, ?)", main)
    db.execute(f"insert into {AUX_TABLE}({AUX_TABLE}, rowid, tokens) values ('delete', ?, ?)",
               aux)


def create_tables(db: Connection) -> None:
    db.execute(f"create virtual table {FTS_TABLE} using fts5({', '.join(FTS_COLUMNS)}, "
               "content='', tokenize='unicode61 remove_diacritics 0')")
    db.execute(f"create virtual table {AUX_TABLE} using fts5(tokens, content='', detail=none, "
               "tokenize='unicode61 remove_diacritics 0')")
    db.execute(f"create virtual table {FTS_TABLE}_vocab using fts5vocab({FTS_TABLE}, row)")
    db.execute(f"create table {TERMS_TABLE} (term text primary key, df real, l1 real, l2 real, "
               "l3 real, l4 real, l5 real, l6 real) without rowid")
    db.execute(f"create table {META_TABLE} (name text primary key, value real)")


def drop_tables(db: Connection) -> None:
    for name in (f"{FTS_TABLE}_vocab", FTS_TABLE, AUX_TABLE, TERMS_TABLE, META_TABLE):
        db.execute(f"drop table if exists {name}")
    _tiers_cache.clear()


_ARTICLES = ("select rowid, title, summary, text, published, portal, source, category "
             "from articles")


def _article_rows(db: Connection, where: str = "") -> Iterator[dict[str, Any]]:
    cursor = _conn(db).execute(_ARTICLES + where)
    names = [d[0] for d in cursor.description]
    for values in cursor:
        yield dict(zip(names, values, strict=True))


def create_index(db: Connection, *, progress: Callable[[int], None] | None = None) -> None:
    """Create the search tables and index every article (a migration, or a benchmark's
    archive): the tiers' thresholds are learned first, from a sample."""
    drop_tables(db)
    create_tables(db)
    learn_tiers(db)
    conn = _conn(db)
    batch: list[tuple[list[Any], list[Any]]] = []
    for n, row in enumerate(_article_rows(db), 1):
        batch.append(_rows(db, row.pop("rowid"), row, None))
        if len(batch) == 1000:
            _insert(conn, batch)
            batch = []
        if progress and n % 10000 == 0:
            progress(10000)
    _insert(conn, batch)
    count_terms(db)


def count_terms(db: Connection) -> None:
    """Replace the sampled number of articles holding each frequent word by FTS5's own count
    (one read of each of their doclists): bm25's idf of common words is sensitive to it."""
    conn = _conn(db)
    conn.execute(f"update {TERMS_TABLE} set df = coalesce((select doc from {FTS_TABLE}_vocab v "
                 f"where v.term = {TERMS_TABLE}.term), df) "
                 "where term not like '=%' and term not like '%*'")
    conn.execute(f"insert or replace into {META_TABLE} values ('articles', "
                 "(select count(*) from articles))")


def _insert(conn: sqlite3.Connection, rows: list[tuple[list[Any], list[Any]]]) -> None:
    conn.executemany(f"insert into {FTS_TABLE}(rowid, {', '.join(FTS_COLUMNS)}) "
                     "values (?, ?, ?, ?, ?, ?)", [main for main, _ in rows])
    conn.executemany(f"insert into {AUX_TABLE}(rowid, tokens) values (?, ?)",
                     [aux for _, aux in rows])


def learn_tiers(db: Connection, sample: int = SAMPLE, min_df: int = MIN_SAMPLE_DF) -> None:
    """Learn each frequent word's and prefix's tier thresholds from ``sample`` articles; an
    archive of fewer than ``CANDIDATES`` articles needs none."""
    conn = _conn(db)
    total = conn.execute("select count(*) from articles").fetchone()[0]
    conn.execute(f"delete from {TERMS_TABLE}")
    conn.execute(f"delete from {META_TABLE}")
    _tiers_cache.clear()
    exact_df: Counter[str] = Counter()
    docs = []
    where = f" where rowid in (select rowid from articles order by random() limit {sample})"
    for row in _article_rows(db, where):
        columns = search_columns(row)
        weighted, by_prefix, n = _weights(columns)
        exact_df.update(set(columns[2].split()) | set(columns[3].split()))
        docs.append((2 * n + len(meta_tokens(row)), weighted, by_prefix))
    if not docs:
        return
    tiers = Tiers(average_length=sum(d[0] for d in docs) / len(docs))
    impacts: dict[str, array] = defaultdict(lambda: array("d"))
    for length, weighted, by_prefix in docs:
        norm = tiers.norm(length)
        for word, tf in weighted.items():
            impacts[word].append(tf / (tf + norm))
        for prefix, tf in by_prefix.items():
            impacts[prefix + "*"].append(tf / (tf + norm))
    scale = total / len(docs)
    rows = []
    for term, values in impacts.items():
        if len(values) < min_df:
            continue
        ranked = sorted(values, reverse=True)
        levels = [ranked[min(len(ranked) - 1, int(q * len(ranked)))] for q in LEVELS]
        rows.append((term, len(values) * scale, *levels))
    rows += [("=" + w, n * scale, *[None] * len(LEVELS)) for w, n in exact_df.items()
             if n >= min_df]
    conn.executemany(f"insert or replace into {TERMS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?)",
                     rows)
    conn.executemany(f"insert into {META_TABLE} values (?, ?)",
                     [("average_length", tiers.average_length), ("articles", total),
                      ("learned", time.time())])
    _tiers_cache.clear()


def maintain(db: Connection, *, growth: float = 4.0, min_articles: int = CANDIDATES,
             sample: int = SAMPLE, min_df: int = MIN_SAMPLE_DF) -> bool:
    """Relearn the tiers when the archive (of ``min_articles`` or more) has no thresholds yet
    or has grown ``growth`` times since they were learned, and rewrite every article's tiers
    with them (a few minutes at a million articles; a crawl calls this when it ends and
    growth makes it rare). True if it did."""
    conn = _conn(db)
    total = conn.execute("select count(*) from articles").fetchone()[0]
    learned = conn.execute(f"select value from {META_TABLE} where name = 'articles'").fetchone()
    if total < min_articles or (learned and total < growth * learned[0]):
        return False
    learn_tiers(db, sample=sample, min_df=min_df)
    tiers = _tiers(db)
    conn.execute(f"insert into {AUX_TABLE}({AUX_TABLE}) values ('delete-all')")
    for row in _article_rows(db):
        key = row.pop("rowid")
        conn.execute(f"insert into {AUX_TABLE}(rowid, tokens) values (?, ?)",
                     [key, " ".join(tiers.tokens(search_columns(row), meta_tokens(row)))])
    count_terms(db)
    return True


# -- opening ---------------------------------------------------------------------------------

def connect(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to the index at ``path`` for searching, with plain sqlite3
    (sqlite-utils is not needed to read), opened as ``archive.index.open_index_readonly``
    does; or None when its search tables predate this code and it must be migrated first."""
    path = Path(path)
    writable = os.access(path.parent, os.W_OK)
    mode = "mode=ro" if writable or Path(f"{path}-shm").exists() else "immutable=1"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
    try:
        current = conn.execute("select 1 from _sqlite_migrations where migration_set = ? "
                               "and name = ?", ["portal-archive", SEARCH_MIGRATION]).fetchone()
    except sqlite3.OperationalError:  # no migrations table: not an archive's index yet
        current = None
    if current is None:
        conn.close()
    return conn if current else None


# -- filters ---------------------------------------------------------------------------------

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
    tokens = [[_meta_token("m", p) for p in group] for group in groups]
    if filters.category:
        tokens.append([_meta_token("c", filters.category)])
    if filters.sources:
        tokens.append([_meta_token("s", source) for source in filters.sources])
    first, last = _archive_years(db)
    if filters.since:
        first = _bound(filters.since, 0)
    if filters.until:
        last = _bound(filters.until, 1)
    return Scope(tokens, first, last, dated=bool(filters.since or filters.until))


def _bound(value: str, end: int) -> date:
    period = _period(value)
    assert period is not None, value  # Filters checked it
    return period[end]


def _archive_years(db: Connection) -> tuple[date, date]:
    """From the first day of the archive's first year to the last of its last."""
    # Two index seeks (min and max in one query would read the whole index).
    low, high = (db.execute(f"select published from articles where published >= '0' "
                            f"order by published {d} limit 1").fetchone() for d in ("", "desc"))
    low, high = (low or [None])[0], (high or [None])[0]
    first, last = _period((low or "")[:4]), _period((high or "")[:4])
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
            months.append((day, _month_end(day)))
            day = _month_end(day) + timedelta(days=1)
        undated = [] if self.dated else [(None, date.min)]
        return months[::-1] + undated if descending else undated + months


UNDATED = "y0"


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

    def among(self, db: Connection, scope: Scope, rowids: Iterable[int]) -> list[int]:
        """Those of ``rowids`` that match."""
        rowids = list(rowids)
        found: list[int] = []
        for i in range(0, len(rowids), 500):
            chunk = ", ".join(str(int(r)) for r in rowids[i:i + 500])
            found += [r for (r,) in db.execute(
                f"select rowid from {self.table} where {self.table} match ? and rowid in "
                f"({chunk})", [self._match(scope)])]
        return found

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


def _source(query: Query, tier: str) -> Source:
    prefix = query.short_prefix
    if prefix:
        return Source(AUX_TABLE, f'"p{prefix}"', "")
    return Source(FTS_TABLE, query.fts(tier), "meta")


# -- ranking ---------------------------------------------------------------------------------

def _relevance_order(db: Connection, query: Query, scope: Scope, exact_only: bool,
                     wanted: int, candidates: int) -> list[int]:
    if exact_only:
        tiers = ["exact"]
    else:
        tiers = ["marked", "folded"] if query.marked else ["folded"]
    seen: set[int] = set()
    order: list[int] = []
    for tier in tiers:
        if len(order) >= wanted:
            break  # the exact tier alone fills the page: fold-only matches come after it
        source = _source(query, tier)
        found = source.matching(db, scope, limit=candidates + 1)
        if len(found) > candidates:
            # Several words or a phrase: a match in the title weighs ten in the body, and
            # the words' tiers do not see a phrase's repeats: the (newest) articles with the
            # whole query in their title are candidates too.
            titled = [] if source.table != FTS_TABLE or _words_in(query) < 2 else Source(
                FTS_TABLE, query.fts(tier, title_only=True), "meta").matching(
                    db, scope, limit=candidates // 2)
            seen_titles = set(titled)
            pool = titled + [k for k in _tier_candidates(db, query, source, scope, wanted,
                                                         candidates - len(titled))
                             if k not in seen_titles]
            if len(pool) < wanted:  # too few in the tiers (a narrow filter): add the newest
                known = set(pool)
                pool += [k for k in found if k not in known][:candidates - len(pool)]
            found = pool
        for key in Scorer(db, query, tier).rank(found):
            if key not in seen:
                seen.add(key)
                order.append(key)
    return order


def _words_in(query: Query) -> int:
    return sum(len(t.words) for t in query.terms)


def _tier_candidates(db: Connection, query: Query, source: Source, scope: Scope,
                     wanted: int, candidates: int) -> list[int]:
    """Matches among the impact tiers of the query's words, finest level first, until there
    are ``wanted`` and some to spare (at most ``candidates``)."""
    names = {fold_word(w) for t in query.terms if not t.prefix for w in t.words}
    prefixes = {fold_word(t.words[0]) for t in query.terms if t.short_prefix}
    if not names and not prefixes:
        return []
    known = {term for (term,) in db.execute(
        f"select term from {TERMS_TABLE} where l1 is not null and term in "
        f"({', '.join('?' * (len(names) + len(prefixes)))})",
        [*names, *(p + "*" for p in prefixes)])}
    found: list[int] = []
    seen: set[int] = set()
    for level in range(1, len(LEVELS) + 1):
        tokens = [f"t{level}{w}" for w in names if w in known]
        tokens += [f"u{level}{p}" for p in prefixes if p + "*" in known]
        if not tokens:
            return []
        tier = Source(AUX_TABLE, " OR ".join(f'"{t}"' for t in tokens), "")
        keys = tier.matching(db, scope, limit=2 * candidates)
        for key in source.among(db, scope, keys) if source.table == FTS_TABLE else keys:
            if key not in seen:
                seen.add(key)
                found.append(key)
        if len(found) >= min(candidates, wanted + 40):
            return found[:candidates]
    return found


@cache
def _letter_classes() -> dict[str, str]:
    """Every letter that folds to each ASCII letter, both cases: a regular expression
    class, to find a folded word in the stored (NFC) text without folding all of it."""
    variants: dict[str, set[str]] = defaultdict(set)
    for code in range(0x41, 0x1F00):
        char = chr(code)
        if char.isalpha():
            folded = fold_word(char)
            if len(folded) == 1 and folded.isascii():
                variants[folded].add(char)
    return {letter: "[" + "".join(sorted(chars)) + "]" for letter, chars in variants.items()}


def _term_pattern(term: Term) -> re.Pattern[str]:
    """The term in stored text, whatever its diacritics and case. It does not check that a
    word starts where it starts (``_starts_word`` does): a pattern that begins with a
    character class lets the regular expression engine skip ahead to it, five times faster
    than a look-behind at every position."""
    classes = _letter_classes()
    parts = ["".join(classes.get(c, re.escape(c)) for c in fold_word(w)) for w in term.words]
    return re.compile(r"\W+".join(parts) + (r"\w*" if term.prefix else r"(?!\w)"))


def _starts_word(text: str, m: re.Match[str]) -> bool:
    start = m.start()
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_")


def _varints(blob: bytes) -> list[int]:
    out, value = [], 0
    for byte in blob:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            out.append(value)
            value = 0
    return out


class Scorer:
    """bm25 as FTS5's bm25() computes it over the search table, for a few articles."""

    def __init__(self, db: Connection, query: Query, tier: str) -> None:
        self.db, self.query, self.tier = db, query, tier
        averages = db.execute(f"select block from {FTS_TABLE}_data where id = 1").fetchone()
        counts = (_varints(averages[0]) if averages else []) or [0]
        self.total = counts[0] or 1
        learned = db.execute(f"select value from {META_TABLE} where name = 'articles'").fetchone()
        self.learned_total = learned[0] if learned else 0
        self.average = (sum(counts[1:]) / self.total) or 1.0
        self.terms = query.terms
        self.patterns = [_term_pattern(t) for t in self.terms]
        self.forms = [[exact_word(w) for w in t.words] if t.is_exact(tier) else None
                      for t in self.terms]

    def rank(self, keys: list[int]) -> list[int]:
        if not keys:
            return []
        if len(keys) == 1:
            return keys
        # One term: its idf is the same for every article and changes no order.
        idfs = [self._idf(t) for t in self.terms] if len(self.terms) > 1 else [1.0]
        # (``self.terms`` is the groups' terms in order: group by group below.)
        marks = ", ".join(str(int(k)) for k in keys)
        lengths = {k: sum(_varints(sz)) for k, sz in self.db.execute(
            f"select id, sz from {FTS_TABLE}_docsize where id in ({marks})")}
        texts = {r: (title or "", "\n".join(x for x in (summary, text) if x))
                 for r, title, summary, text in self.db.execute(
                     "select rowid, title, summary, text from articles where rowid in "
                     f"({marks})")}
        score = {}
        for key in keys:
            title, body = texts.get(key, ("", ""))
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths.get(key, 0) / self.average)
            tfs = [TITLE_WEIGHT * self._count(i, p, title) + self._count(i, p, body)
                   for i, p in enumerate(self.patterns)]
            total, i = 0.0, 0
            for group in self.query.groups:
                # As FTS5 does, a group of words the article does not have all of counts
                # for nothing, even the words of it that the article has.
                found = tfs[i:i + len(group)]
                if all(found):
                    total += sum(idf * tf * (BM25_K1 + 1) / (tf + norm)
                                 for idf, tf in zip(idfs[i:i + len(group)], found, strict=True))
                i += len(group)
            score[key] = total
        return sorted(keys, key=lambda k: (-score[k], -k))

    def _count(self, i: int, pattern: re.Pattern[str], text: str) -> int:
        forms = self.forms[i]
        return sum(1 for m in pattern.finditer(text) if _starts_word(text, m) and (
            forms is None or [exact_word(w) for w in words(m.group())] == forms))

    def _idf(self, term: Term) -> float:
        n = self._df(term)
        idf = math.log((self.total - n + 0.5) / (n + 0.5))
        return idf if idf > 0 else 1e-6

    def _df(self, term: Term) -> float:
        """How many articles hold the term: learned for frequent words, counted for others
        (and for phrases, counted up to a bound)."""
        exact = term.is_exact(self.tier)
        if len(term.words) == 1:
            form = exact_word(term.words[0]) if exact else fold_word(term.words[0])
            name = ("=" if exact else "") + form + ("*" if term.prefix else "")
            known = self.db.execute(f"select df from {TERMS_TABLE} where term = ?",
                                    [name]).fetchone()
            if known:  # counted when the archive had ``learned_total`` articles
                return known[0] * self.total / (self.learned_total or self.total)
            if not term.prefix:
                row = self.db.execute(f"select doc from {FTS_TABLE}_vocab where term = ?",
                                      [form]).fetchone()
                return row[0] if row else 0
        column = "{title_x body_x}" if exact else "{title_f body_f}"
        bound = 5 * CANDIDATES
        n = self.db.execute(f"select count(*) from (select 1 from {FTS_TABLE} where "
                            f"{FTS_TABLE} match ? limit {bound})",
                            [f"{column} : {term.fts(exact)}"]).fetchone()[0]
        if n < bound:
            return n
        return min((self._df(Term([w])) for w in term.words), default=n)


# -- searching -------------------------------------------------------------------------------

HIT_COLUMNS = ("id", "url", "portal", "title", "published", "category", "author",
               "source", "captured", "warc_file", "warc_offset", "warc_length", "payload_digest")


def search(db: Connection, text: str, *, filters: Filters | None = None,
           sort: str = "relevance", limit: int = 20, offset: int = 0, exact: bool = False,
           candidates: int = CANDIDATES) -> list[dict[str, Any]]:
    """Hits for what a user typed, best first; each hit carries its WARC pointer and a
    snippet with the matched words between ``\\x02`` and ``\\x03``. ``candidates`` bounds
    how many articles are scored per tier (see the module's docstring)."""
    query = parse_query(text)
    if sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}")
    scope = filter_scope(db, filters or Filters())
    if scope.empty:
        return []
    if sort == "relevance":
        keys = _relevance_order(db, query, scope, exact, offset + limit,
                                max(candidates, offset + limit))[offset:offset + limit]
    else:
        source = _source(query, "exact" if exact else "folded")
        keys = source.by_date(db, scope, limit=limit, offset=offset,
                           descending=sort == "newest")
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
    return _source(query, "exact" if exact else "folded").count(db, scope)


# -- snippets --------------------------------------------------------------------------------

HIGHLIGHT = ("\x02", "\x03")


def _matchers(query: Query) -> tuple[set[str], tuple[str, ...]]:
    whole = {fold_word(w) for t in query.terms if not t.prefix for w in t.words}
    prefixes = tuple(fold_word(t.words[0]) for t in query.terms if t.prefix)
    return whole, prefixes


def snippet(text: str, query: Query, size: int = 24) -> str:
    """The ``size``-word window of ``text`` with the most query words, those words marked."""
    whole, prefixes = _matchers(query)
    tokens = list(_word_spans(text))
    hits = [i for i, (_, _, w) in enumerate(tokens)
            if fold_word(w) in whole or (prefixes and fold_word(w).startswith(prefixes))]
    if not tokens:
        return ""
    best = 0
    if hits:
        best = max(hits, key=lambda i: sum(1 for j in hits if i <= j < i + size))
        best = max(0, min(best - 3, len(tokens) - size))
    window = tokens[best:best + size]
    hit_set = set(hits)
    out, pos = [], window[0][0]
    for i, (start, end, _) in enumerate(window, start=best):
        out.append(text[pos:start])
        word = text[start:end]
        out.append(f"{HIGHLIGHT[0]}{word}{HIGHLIGHT[1]}" if i in hit_set else word)
        pos = end
    prefix = "…" if best > 0 else ""
    suffix = "…" if best + size < len(tokens) else ""
    return prefix + "".join(out).replace("\n", " ") + suffix


def _word_spans(text: str) -> Iterator[tuple[int, int, str]]:
    for m in WORD.finditer(text):  # stored text is NFC already
        yield m.start(), m.end(), m.group()
