"""Impact tiers: for each frequent word (and 2- or 3-letter prefix), the articles where it
weighs the most in bm25, in six levels from its top 0.01% to its top 3%, with thresholds
learned from a sample of the archive (``search_terms``)."""

from __future__ import annotations

import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from archive.search.tables import FTS_TABLE, META_TABLE, TERMS_TABLE, plain
from archive.search.terms import meta_tokens, search_columns
from archive.vietnamese import word_pairs

if TYPE_CHECKING:
    from archive.search.tables import Connection

TITLE_WEIGHT = 10.0
BM25_K1, BM25_B = 1.2, 0.75  # FTS5's bm25() constants
CANDIDATES = 400  # at most this many articles are scored per tier
# The impact tiers: the share of a word's articles each level holds, finest first.
LEVELS = (0.0001, 0.000316, 0.001, 0.00316, 0.01, 0.0316)
SAMPLE = 10000  # articles read to learn the tiers' thresholds
MIN_SAMPLE_DF = 5  # a word in fewer sampled articles gets no tiers (it is rare enough)


_FIRST2, _FIRST3 = itemgetter(slice(0, 2)), itemgetter(slice(0, 3))


def _weights(columns: list[str]) -> tuple[Counter[str], dict[str, float], int]:
    """An article's folded words and pairs of adjacent words (``nong-thon``: they bound a
    phrase's weight as a word bounds its own), and its 2- and 3-letter prefixes, each with
    its term frequency weighted as bm25 weighs it here (a title match counts
    ``TITLE_WEIGHT`` times), and the number of words (the article's length in the search
    table is twice that, plus meta)."""
    title, body = columns[0].split(), columns[1].split()
    counts = [Counter(body), Counter(map(_FIRST2, body)), Counter(map(_FIRST3, body))]
    counts[0].update(word_pairs(body))
    for counter, in_title in zip(counts, (title + word_pairs(title), map(_FIRST2, title),
                                          map(_FIRST3, title)), strict=True):
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
                # Most of an article's words and pairs have no tiers: the intersection
                # leaves them out at C speed.
                for word in counts.keys() & levels.keys():
                    tf, thresholds = counts[word], levels[word]
                    if (impact := tf / (tf + norm)) >= thresholds[-1]:
                        level = next(k for k, t in enumerate(thresholds, 1) if impact >= t)
                        out.append(f"{kind}{level}{word}")
        return out + meta


TIERS_CACHE: dict[tuple[str, float | None], Tiers] = {}





def tiers_of(db: Connection) -> Tiers:
    """The tiers' thresholds, read once per process and per learning (``search_meta``'s
    ``learned`` tells one learning from the next, in this file or a rebuilt one)."""
    conn = plain(db)
    learned = conn.execute(f"select value from {META_TABLE} where name = 'learned'").fetchone()
    cache_key = (conn.execute("pragma database_list").fetchone()[2],
                 learned[0] if learned else None)
    if cache_key not in TIERS_CACHE:
        tiers = Tiers()
        meta = dict(conn.execute(f"select name, value from {META_TABLE}"))
        tiers.average_length = meta.get("average_length", 0.0)
        for term, *levels in conn.execute(
                f"select term, l1, l2, l3, l4, l5, l6 from {TERMS_TABLE} where l1 is not null"):
            if term.endswith("*"):
                tiers.prefixes[term[:-1]] = tuple(levels)
            else:
                tiers.words[term] = tuple(levels)
        TIERS_CACHE[cache_key] = tiers
    return TIERS_CACHE[cache_key]


_ARTICLES = ("select rowid, title, summary, text, published, portal, source, category "
             "from articles")


def article_rows(db: Connection, where: str = "") -> Iterator[dict[str, Any]]:
    cursor = plain(db).execute(_ARTICLES + where)
    names = [d[0] for d in cursor.description]
    for values in cursor:
        yield dict(zip(names, values, strict=True))


def count_terms(db: Connection) -> None:
    """Replace the sampled number of articles holding each frequent word by FTS5's own count
    (one read of each of their doclists): bm25's idf of common words is sensitive to it."""
    conn = plain(db)
    conn.execute(f"update {TERMS_TABLE} set df = coalesce((select doc from {FTS_TABLE}_vocab v "
                 f"where v.term = {TERMS_TABLE}.term), df) "
                 "where term not like '=%' and term not like '%*'")
    conn.execute(f"insert or replace into {META_TABLE} values ('articles', "
                 "(select count(*) from articles))")


def learn_tiers(db: Connection, sample: int = SAMPLE, min_df: int = MIN_SAMPLE_DF) -> None:
    """Learn each frequent word's and prefix's tier thresholds from ``sample`` articles; an
    archive of fewer than ``CANDIDATES`` articles needs none."""
    conn = plain(db)
    total = conn.execute("select count(*) from articles").fetchone()[0]
    conn.execute(f"delete from {TERMS_TABLE}")
    conn.execute(f"delete from {META_TABLE}")
    TIERS_CACHE.clear()
    exact_df: Counter[str] = Counter()
    # The sampled articles' folded title and body, and their lengths: the weights need the
    # average length, known only once all are read (keeping the words' counts of every
    # article instead would take ten times the memory).
    docs = []
    where = f" where rowid in (select rowid from articles order by random() limit {sample})"
    for row in article_rows(db, where):
        columns = search_columns(row)
        exact_df.update(set(columns[2].split()) | set(columns[3].split()))
        words = len(columns[0].split()) + len(columns[1].split())
        docs.append((2 * words + len(meta_tokens(row)), columns[:2]))
    if not docs:
        return
    tiers = Tiers(average_length=sum(d[0] for d in docs) / len(docs))
    impacts: dict[str, array] = defaultdict(lambda: array("d"))
    for length, columns in docs:
        weighted, by_prefix, _ = _weights(columns)
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
    TIERS_CACHE.clear()
