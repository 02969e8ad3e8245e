"""Ranking: bm25 as FTS5's bm25() defines it, computed here for a bounded set of candidates."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from functools import cache
from typing import TYPE_CHECKING

from archive.query import Query, Term
from archive.search.scope import Scope, Source, source_for
from archive.search.tables import AUX_TABLE, FTS_TABLE, META_TABLE, TERMS_TABLE
from archive.search.tiers import BM25_B, BM25_K1, CANDIDATES, LEVELS, TITLE_WEIGHT
from archive.vietnamese import exact_word, fold_word, words

if TYPE_CHECKING:
    from archive.search.tables import Connection

def relevance_order(db: Connection, query: Query, scope: Scope, exact_only: bool,
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
        source = source_for(query, tier)
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


def varints(blob: bytes) -> list[int]:
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
        counts = (varints(averages[0]) if averages else []) or [0]
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
        lengths = {k: sum(varints(sz)) for k, sz in self.db.execute(
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
