"""Vietnamese full-text search over the index's articles.

The FTS5 table ``search_fts`` is contentless: it holds the title and the body (summary and
text) of every article twice, as folded words and as exact words (``archive.vietnamese``).
A query is parsed by ``archive/query.py``, never handed to FTS5 as typed, so any text a user
types is valid.

Ranking: articles that match the words exactly as typed (with their diacritics) come first,
then those that match only once folded (that tier is not even searched when the exact tier
fills the page). Inside a tier, a narrow query (fewer than ``candidates`` matches) is
ranked by bm25 over all its matches, the title weighted above the body; when there are only
a few matches of several words (a rare phrase of common syllables), bm25 is computed here
from their text (``_rank_found``) rather than by FTS5, whose bm25() would scan every match
of the whole index once more. A broad query is
not: FTS5's bm25 counts every matching row of every phrase before it scores one, which is
what makes plain FTS5 take seconds on common words at a million articles, and tells little
when a word is in most articles anyway. Broad queries list title matches first, then the
other matches, newest first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import sqlite_utils

from archive.filters import Filters
from archive.query import Query, QueryError, parse_query
from archive.vietnamese import WORD, exact_text, exact_word, fold_word, folded_text, words

FTS_TABLE = "search_fts"
TITLE_WEIGHT = 10.0
CANDIDATES = 1000
RANK_HERE = 100  # at most this many matches of several words are ranked by _rank_found
SORTS = ("relevance", "newest", "oldest")
# The condition on ``articles a`` that keeps the matches of one FTS5 expression (a parameter).
MATCHES = f"a.rowid in (select rowid from {FTS_TABLE} where {FTS_TABLE} match ?)"

Where = tuple[str, list[Any]]  # a condition on ``articles a`` (Filters.sql) and its parameters


# -- keeping the index in step with the articles table ----------------------------------------

def search_columns(row: dict[str, Any]) -> list[str]:
    """The word forms the search index holds for an article (``title``, ``summary``, ``text``).

    Computed where the article is extracted (the crawl's page-reading process), so that the
    process writing the index does not spend its time on them.
    """
    body = "\n".join(x for x in (row.get("summary"), row.get("text")) if x)
    return [folded_text(row.get("title")), folded_text(body),
            exact_text(row.get("title")), exact_text(body)]


def index_article(db: sqlite_utils.Database, rowid: int, row: dict[str, Any],
                  columns: list[str] | None = None) -> None:
    """Add one article (its ``articles`` rowid and row, and its ``search_columns`` if known)
    to the search index."""
    db.execute(f"insert into {FTS_TABLE}(rowid, title_f, body_f, title_x, body_x) "
               "values (?, ?, ?, ?, ?)", [rowid, *(columns or search_columns(row))])


def unindex_article(db: sqlite_utils.Database, rowid: int, row: dict[str, Any]) -> None:
    """Remove an article as it was indexed (a contentless table needs the old values)."""
    db.execute(f"insert into {FTS_TABLE}({FTS_TABLE}, rowid, title_f, body_f, title_x, body_x) "
               "values ('delete', ?, ?, ?, ?, ?)", [rowid, *search_columns(row)])


def create_index(db: sqlite_utils.Database) -> None:
    db.execute(f"create virtual table {FTS_TABLE} using fts5(title_f, body_f, title_x, body_x, "
               "content='', tokenize='unicode61 remove_diacritics 0')")
    for row in db.query("select rowid as _rowid, title, summary, text from articles"):
        index_article(db, row.pop("_rowid"), row)


# -- searching -------------------------------------------------------------------------------

HIT_COLUMNS = ("id", "url", "portal", "title", "published", "category", "author",
               "source", "captured", "warc_file", "warc_offset", "warc_length", "payload_digest")


def _matches(db: sqlite_utils.Database, expr: str, where: Where, limit: int, *,
             scored: bool) -> list[tuple[int, float]]:
    """(rowid, bm25 or 0) of at most ``limit`` most recently indexed matches."""
    condition, params = where
    score = f"bm25({FTS_TABLE}, ?, 1.0, ?, 1.0)" if scored else "0"
    weights = [TITLE_WEIGHT, TITLE_WEIGHT] if scored else []
    sql = (f"select f.rowid, {score} from {FTS_TABLE} f "
           f"join articles a on a.rowid = f.rowid where {FTS_TABLE} match ? and {condition} "
           "order by f.rowid desc limit ?")
    return db.execute(sql, [*weights, expr, *params, limit]).fetchall()


def _relevance_order(db: sqlite_utils.Database, query: Query, where: Where,
                     exact_only: bool, candidates: int, wanted: int,
                     rank_here: int = RANK_HERE) -> list[int]:
    if exact_only:
        tiers = ["exact"]
    else:
        tiers = ["marked", "folded"] if query.marked else ["folded"]
    seen: set[int] = set()
    order: list[int] = []
    for tier in tiers:
        if len(order) >= wanted:
            break  # the exact tier alone fills the page: fold-only matches come after it
        expr = query.fts(tier)
        found = _matches(db, expr, where, candidates, scored=False)
        if len(found) <= rank_here and _words_in(query) > 1:  # a few, several words
            ranked = _rank_found(db, query, tier, [r for r, _ in found])
        elif len(found) < candidates:  # narrow, one word: bm25 over every match
            scores = dict(_matches(db, expr, where, candidates, scored=True))
            ranked = sorted(scores, key=lambda r: (scores[r], -r))
        else:  # broad: title matches first, then body matches, newest first
            titles = _matches(db, query.fts(tier, title_only=True), where, wanted,
                              scored=False)
            ranked = [r for r, _ in titles] + [r for r, _ in found]
        for rowid in ranked:
            if rowid not in seen:
                seen.add(rowid)
                order.append(rowid)
    return order


def _words_in(query: Query) -> int:
    return sum(len(t.words) for t in query.terms)


BM25_K1, BM25_B = 1.2, 0.75  # FTS5's bm25() constants


def _rank_found(db: sqlite_utils.Database, query: Query, tier: str,
                rowids: list[int]) -> list[int]:
    """bm25 over a few matches already found, computed here from their text.

    FTS5's bm25() first counts the matches of every phrase in the whole index; for a phrase
    of common syllables that is a second full scan of their position lists (seconds at a
    million articles) to rank a handful of rows. Here each term's document frequency is
    counted among the matches (exact for one term; for several it underweights a term
    that is also common outside them), the title weighted as in ``_matches``."""
    if not rowids:
        return []
    total = db.execute("select max(rowid) from articles").fetchone()[0] or len(rowids)
    marks = ", ".join("?" * len(rowids))
    form = {}
    for t in query.terms:
        exact = not t.prefix and (tier == "exact" or tier == "marked" and t.marked)
        form[id(t)] = (exact, [exact_word(w) if exact else fold_word(w) for w in t.words])
    counts: dict[int, list[float]] = {}
    lengths: dict[int, int] = {}
    for rowid, title, summary, text in db.execute(
            f"select rowid, title, summary, text from articles where rowid in ({marks})",
            rowids):
        fields = [words(title or ""), words("\n".join(x for x in (summary, text) if x))]
        lengths[rowid] = sum(len(f) for f in fields)
        forms = {exact: [[(exact_word if exact else fold_word)(w) for w in f] for f in fields]
                 for exact in {e for e, _ in form.values()}}
        tfs = []
        for t in query.terms:
            exact, wanted = form[id(t)]
            tfs.append(sum(weight * _occurrences(seq, wanted, t.prefix) for weight, seq
                           in zip((TITLE_WEIGHT, 1.0), forms[exact], strict=True)))
        counts[rowid] = tfs
    average = sum(lengths.values()) / len(lengths) or 1.0
    idfs = []
    for i in range(len(query.terms)):
        n = sum(1 for tfs in counts.values() if tfs[i] > 0)
        idfs.append(max(1e-6, math.log((total - n + 0.5) / (n + 0.5))))
    score = {}
    for rowid, tfs in counts.items():
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[rowid] / average)
        score[rowid] = sum(idf * tf * (BM25_K1 + 1) / (tf + norm)
                           for idf, tf in zip(idfs, tfs, strict=True))
    return sorted(score, key=lambda r: (-score[r], -r))


def _occurrences(seq: list[str], wanted: list[str], prefix: bool) -> int:
    if prefix:
        return sum(1 for w in seq if w.startswith(wanted[0]))
    n = len(wanted)
    first = wanted[0]
    return sum(1 for i, w in enumerate(seq) if w == first and seq[i:i + n] == wanted)


def search(db: sqlite_utils.Database, text: str, *, filters: Filters | None = None,
           sort: str = "relevance", limit: int = 20, offset: int = 0, exact: bool = False,
           candidates: int = CANDIDATES, rank_here: int = RANK_HERE) -> list[dict[str, Any]]:
    """Hits for what a user typed, best first; each hit carries its WARC pointer and a
    snippet with the matched words between ``\\x02`` and ``\\x03``. ``candidates`` and
    ``rank_here`` bound the ranking (see the module's docstring); the benchmark raises the
    first and zeroes the second to get FTS5's bm25() over every match."""
    query = parse_query(text)
    where = (filters or Filters()).sql(db)
    if sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}")
    if sort == "relevance":
        rowids = _relevance_order(db, query, where, exact, max(candidates, offset + limit),
                                  offset + limit, rank_here)
        rowids = rowids[offset:offset + limit]
    else:
        condition, params = where
        direction = "desc" if sort == "newest" else "asc"
        sql = (f"select a.rowid from articles a where {MATCHES} and {condition} "
               f"order by a.published {direction}, a.rowid {direction} limit ? offset ?")
        rowids = [r[0] for r in db.execute(
            sql, [query.fts("exact" if exact else "folded"), *params, limit, offset])]
    if not rowids:
        return []
    marks = ", ".join("?" * len(rowids))
    rows = {r["_rowid"]: r for r in db.query(
        f"select rowid as _rowid, {', '.join(HIT_COLUMNS)}, summary, text from articles "
        f"where rowid in ({marks})", rowids)}
    hits = []
    for rowid in rowids:
        row = rows[rowid]
        body = "\n".join(x for x in (row.pop("summary"), row.pop("text")) if x)
        row.pop("_rowid")
        row["snippet"] = snippet(body, query)
        hits.append(row)
    return hits


def count(db: sqlite_utils.Database, text: str, *, filters: Filters | None = None,
          exact: bool = False) -> int:
    """How many articles match (diacritics ignored unless ``exact``)."""
    query = parse_query(text)
    condition, params = (filters or Filters()).sql(db)
    sql = (f"select count(*) from {FTS_TABLE} f join articles a on a.rowid = f.rowid "
           f"where {FTS_TABLE} match ? and {condition}")
    return db.execute(sql, [query.fts("exact" if exact else "folded"), *params]).fetchone()[0]


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
