"""bm25 as FTS5's ``bm25()`` defines it over the search table, computed here for a few
articles from their stored text, which also says whether an article matches the query at all.

FTS5's own ``bm25()`` counts the articles holding each term of the query over the whole index
before it scores one (seconds for a common word at a million articles); here the counts come
from ``search_terms`` (frequent words) or the index's vocabulary, and the term frequencies
from the article's text, read back from ``articles``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

from archive.query import Query, Term
from archive.search.tables import FTS_TABLE, META_TABLE, TERMS_TABLE
from archive.search.tiers import BM25_B, BM25_K1, CANDIDATES, TITLE_WEIGHT
from archive.vietnamese import exact_word, fold_word, words

if TYPE_CHECKING:
    from archive.search.tables import Connection


@cache
def _folding() -> dict[int, str]:
    """A ``str.translate`` table folding each letter to the one letter the index has for it
    (``Đ`` -> ``d``, ``ồ`` -> ``o``): the stored (NFC) text folded in one pass, with every
    character where it was, so that a match found in it is a span of the original."""
    table = {}
    for code in range(0x41, 0x2000):
        char = chr(code)
        if char.isalpha() and len(folded := fold_word(char)) == 1 and folded != char:
            table[code] = folded
    return table


def _term_pattern(term: Term) -> re.Pattern[str]:
    """The term in folded text. It does not check that a word starts where the match does
    (``_starts_word`` does): a pattern that begins with a literal lets the regular
    expression engine skip ahead to it, much faster than a look-behind at every position."""
    parts = [re.escape(fold_word(w)) for w in term.words]
    return re.compile(r"\W+".join(parts) + (r"\w*" if term.prefix else r"(?!\w)"))


def _starts_word(text: str, start: int) -> bool:
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_")


def _occurs(pattern: re.Pattern[str], folded: str) -> bool:
    return any(_starts_word(folded, m.start()) for m in pattern.finditer(folded))


def varints(blob: bytes) -> list[int]:
    out, value = [], 0
    for byte in blob:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            out.append(value)
            value = 0
    return out


class Scorer:
    """bm25 of a query tier (``folded``, ``marked`` or ``exact``: see ``Query.fts``)."""

    def __init__(self, db: Connection, query: Query, tier: str) -> None:
        self.db, self.query, self.tier = db, query, tier
        averages = db.execute(f"select block from {FTS_TABLE}_data where id = 1").fetchone()
        counts = (varints(averages[0]) if averages else []) or [0]
        self.total = counts[0] or 1
        learned = db.execute(f"select value from {META_TABLE} where name = 'articles'").fetchone()
        self.learned_total = learned[0] if learned else 0
        self.average = (sum(counts[1:]) / self.total) or 1.0
        self.terms = query.terms
        self.patterns = [_term_pattern(t) for t in self.terms]
        self.excluded = [_term_pattern(t) for t in query.excluded]
        self.forms = [[exact_word(w) for w in t.words] if t.is_exact(tier) else None
                      for t in self.terms]
        self._idfs: list[float] | None = None

    @property
    def idfs(self) -> list[float]:
        """Each term's idf, as FTS5 computes it; 1 for a query of one term (its idf is the
        same for every article and changes no order)."""
        if self._idfs is None:
            self._idfs = ([self._idf(t) for t in self.terms] if len(self.terms) > 1
                          else [1.0])
        return self._idfs

    def rank(self, keys: list[int]) -> list[int]:
        """``keys`` (matches, as FTS5 found them), best first."""
        score = self.scores(keys, verify=False)
        return sorted(keys, key=lambda k: (-score.get(k, 0.0), -k))

    def scores(self, keys: Iterable[int], *, verify: bool) -> dict[int, float]:
        """The bm25 score of each of ``keys``; with ``verify``, only of those that match the
        query (its words in this tier's forms, none of its excluded words)."""
        keys = [int(k) for k in keys]
        if not keys:
            return {}
        marks = ", ".join(map(str, keys))
        lengths = {k: sum(varints(sz)) for k, sz in self.db.execute(
            f"select id, sz from {FTS_TABLE}_docsize where id in ({marks})")}
        folding = _folding()
        idfs = self.idfs
        score = {}
        for key, title, summary, text in self.db.execute(
                f"select rowid, title, summary, text from articles where rowid in ({marks})"):
            title = title or ""
            body = "\n".join(x for x in (summary, text) if x)
            folded = (title.translate(folding), body.translate(folding))
            if verify and any(_occurs(p, f) for p in self.excluded for f in folded):
                continue
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths.get(key, 0) / self.average)
            tfs = [TITLE_WEIGHT * self._count(i, title, folded[0])
                   + self._count(i, body, folded[1]) for i in range(len(self.terms))]
            total, i, matched = 0.0, 0, False
            for group in self.query.groups:
                # As FTS5 does, a group of words the article does not have all of counts
                # for nothing, even the words of it that the article has.
                found = tfs[i:i + len(group)]
                if all(found):
                    matched = True
                    total += sum(idf * tf * (BM25_K1 + 1) / (tf + norm)
                                 for idf, tf in zip(idfs[i:i + len(group)], found, strict=True))
                i += len(group)
            if matched or not verify:
                score[key] = total
        return score

    def _count(self, i: int, text: str, folded: str) -> int:
        forms = self.forms[i]
        return sum(1 for m in self.patterns[i].finditer(folded)
                   if _starts_word(folded, m.start()) and (
                       forms is None
                       or [exact_word(w) for w in words(text[m.start():m.end()])] == forms))

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
