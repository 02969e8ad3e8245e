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
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING

from archive.query import Query, Term
from archive.search.tables import FTS_TABLE, LENGTH_COLUMNS, META_TABLE, TERMS_TABLE
from archive.search.tiers import BM25_B, BM25_K1, CANDIDATES, TITLE_WEIGHT
from archive.vietnamese import exact_word, fold_word, word_pairs, words

if TYPE_CHECKING:
    from archive.search.tables import Connection


@cache
def _spellings() -> dict[str, str]:
    """Each letter the index folds to (``d``, ``o``), with every letter that folds to it
    (``dDđĐ``, ``oOòồỘ...``), as the inside of a regular-expression class."""
    found: dict[str, set[str]] = {}
    for code in range(0x30, 0x2000):
        char = chr(code)
        if char.isalnum() and len(folded := fold_word(char)) == 1:
            found.setdefault(folded, {folded}).add(char)
    return {k: "".join(map(re.escape, sorted(v))) for k, v in found.items()}


def term_pattern(term: Term) -> re.Pattern[str]:
    """The term in the stored text as it is (NFC, any case, any marks): each letter a class
    of every letter that folds to it, so that a match is a span of the original and the text
    needs no folding first (folding a whole article letter by letter costs ten times what
    the search does). It does not check that a word starts where the match does
    (``word_starts_at`` does): a look-behind at every position is slower than the engine's
    skipping ahead to the first letter's class."""
    spellings = _spellings()
    parts = ["".join(f"[{spellings[c]}]" if c in spellings else re.escape(c)
                     for c in fold_word(w)) for w in term.words]
    return re.compile(r"[\W_]+".join(parts)
                      + (r"[^\W_]*" if term.prefix else r"(?![^\W_])"))


def word_starts_at(text: str, start: int) -> bool:
    return start == 0 or not text[start - 1].isalnum()


def _occurs(pattern: re.Pattern[str], text: str) -> bool:
    return any(word_starts_at(text, m.start()) for m in pattern.finditer(text))


def _title_and_body(title: str | None, summary: str | None, text: str | None
                    ) -> tuple[str, str]:
    """An article's title and body as the patterns read them: NFC, as the crawl stores text
    (an article stored otherwise, NFD from another tool, would match no pattern)."""
    body = "\n".join(x for x in (summary, text) if x)
    return (unicodedata.normalize("NFC", title or ""), unicodedata.normalize("NFC", body))


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
        self.average = (sum(counts[1:1 + LENGTH_COLUMNS]) / self.total) or 1.0
        self.terms = query.terms
        self.patterns = [term_pattern(t) for t in self.terms]
        self.excluded = [term_pattern(t) for t in query.excluded]
        self.forms = [[exact_word(w) for w in t.words] if t.is_exact(tier) else None
                      for t in self.terms]
        self._idfs: list[float] | None = None
        # Articles' title and body read so far: a search checks some (``holding``) and then
        # scores them, and reads each once.
        self._texts: dict[int, tuple[str, str]] = {}

    @property
    def idfs(self) -> list[float]:
        """Each term's idf, as FTS5 computes it; 1 for a query of one term (its idf is the
        same for every article and changes no order)."""
        if self._idfs is None:
            self._idfs = ([self._idf(t) for t in self.terms] if len(self.terms) > 1
                          else [1.0])
        return self._idfs

    def rank(self, keys: list[int], *, checked: bool = False) -> list[int]:
        """``keys`` (as FTS5 found them), best first; unless ``checked`` already, those the
        FTS5 expression cannot tell from matches (``Query.needs_check``) left out when
        they do not match."""
        score = self.scores(keys, verify=self.query.needs_check(self.tier) and not checked)
        return sorted(score, key=lambda k: (-score[k], -k))

    def holding(self, keys: list[int]) -> list[int]:
        """Those of ``keys`` that hold the query in their text, in their order."""
        texts = self._read(keys)
        return [k for k in keys if k in texts and self._holds(*texts[k])]

    def _read(self, keys: list[int]) -> dict[int, tuple[str, str]]:
        """The title and body of each of ``keys`` (those still in the archive)."""
        missing = [int(k) for k in keys if k not in self._texts]
        if missing:
            for key, title, summary, text in self.db.execute(
                    "select rowid, title, summary, text from articles where rowid in "
                    f"({', '.join(map(str, missing))})"):
                self._texts[key] = _title_and_body(title, summary, text)
        return {k: self._texts[k] for k in keys if k in self._texts}

    def scores(self, keys: Iterable[int], *, verify: bool) -> dict[int, float]:
        """The bm25 score of each of ``keys``; with ``verify``, only of those that match the
        query (its words in this tier's forms, none of its excluded words)."""
        keys = [int(k) for k in keys]
        if not keys:
            return {}
        marks = ", ".join(map(str, keys))
        lengths = {k: sum(varints(sz)[:LENGTH_COLUMNS]) for k, sz in self.db.execute(
            f"select id, sz from {FTS_TABLE}_docsize where id in ({marks})")}
        idfs = self.idfs
        score = {}
        for key, (title, body) in self._read(keys).items():
            if verify and any(_occurs(p, t) for p in self.excluded for t in (title, body)):
                continue
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths.get(key, 0) / self.average)
            tfs = self._tfs(title, body)
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

    def holds(self, title: str | None, summary: str | None, text: str | None) -> bool:
        """Whether an article's text holds the query: every term of one of its groups (in
        this tier's forms), none of its excluded terms."""
        return self._holds(*_title_and_body(title, summary, text))

    def _holds(self, title: str, body: str) -> bool:
        if any(_occurs(p, t) for p in self.excluded for t in (title, body)):
            return False
        i = 0
        for group in self.query.groups:
            if all(self._count(k, title, 1) or self._count(k, body, 1)
                   for k in range(i, i + len(group))):
                return True
            i += len(group)
        return False

    def _tfs(self, title: str, body: str) -> list[float]:
        return [TITLE_WEIGHT * self._count(i, title) + self._count(i, body)
                for i in range(len(self.terms))]

    def _count(self, i: int, text: str, most: int = 0) -> int:
        """How many times term ``i`` occurs in ``text`` (counting stops at ``most``)."""
        forms, n = self.forms[i], 0
        for m in self.patterns[i].finditer(text):
            if word_starts_at(text, m.start()) and (
                    forms is None
                    or [exact_word(w) for w in words(text[m.start():m.end()])] == forms):
                n += 1
                if n == most:
                    break
        return n

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
        # A phrase: the articles holding all its pairs (a few more than hold the phrase
        # itself when it has three words or more), counted up to a bound; past it, no more
        # than its rarest pair or word, as learned.
        bound = 5 * CANDIDATES
        n = self.db.execute(f"select count(*) from (select 1 from {FTS_TABLE} where "
                            f"{FTS_TABLE} match ? limit {bound})",
                            [term.fts(exact)]).fetchone()[0]
        if n < bound:
            return n
        folded = [fold_word(w) for w in term.words]
        names = word_pairs(folded) + folded
        known = self.db.execute(f"select min(df) from {TERMS_TABLE} where term in "
                                f"({', '.join('?' * len(names))})", names).fetchone()[0]
        return min(n if known is None else known * self.total / (self.learned_total
                                                                  or self.total), self.total)
