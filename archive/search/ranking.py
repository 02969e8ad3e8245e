"""Ranking (``--sort relevance``): which articles are scored, and in what order they come.

Articles that match the words exactly as typed (with their diacritics) come first, then those
that match only once folded (a tier not searched when the exact one fills the page). Inside a
tier, articles are ordered by bm25 (``archive/search/scoring.py``), ties newest first:

- a query with at most ``CANDIDATES`` matches has every match scored: bm25's own order;
- a broader one is ranked by the threshold algorithm over the impact tiers
  (``archive/search/tiers.py``). Reading the tiers of the query's words level by level gives
  every article where some word weighs at least that level's threshold, and for each such
  article the level of each of its words: an upper bound of its score without reading it.
  Articles are scored (their text read) in the order of those bounds, at most ``SCORED``;
  once the last of the page's scores is at least the bound of every article not yet scored
  (those read from the tiers, and those in none of them: every word below the deepest
  threshold read), the page is bm25's own, exactly. When the budget runs out first, the
  page is the best of the articles scored: an approximation, whose overlap with bm25 over
  every match ``bench/search_bench.py`` measures. A tier that finds fewer matches than the
  page needs (a narrow filter) is completed with the newest matches.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from archive.query import Query
from archive.search.scope import Scope, Source, most_matches, source_for, term_names
from archive.search.scoring import Scorer
from archive.search.tables import AUX_TABLE, META_TABLE, TERMS_TABLE
from archive.search.tiers import BM25_K1, CANDIDATES, LEVELS

if TYPE_CHECKING:
    from archive.search.tables import Connection

SCORED = 240  # articles scored at most from the tiers (each one's text read: ~0.1 ms)
BATCH = 40  # scored at a time between two checks of the bounds
EAGER = 2000  # tier rows read before the best bounds are scored, level by level
WITHIN = 60000  # a filter's articles read at most, to keep the tiers' to them
POOL = 5000  # tier rows read (rowids only) before candidates are ordered by their bounds
CHECKED = 1200  # articles checked against their text at most for the newest matches


def relevance_order(db: Connection, query: Query, scope: Scope, exact_only: bool,
                    wanted: int, candidates: int = CANDIDATES) -> list[int]:
    """Rowids of the best ``wanted`` matches (or more), best first: every match scored
    when there are at most ``candidates``, else at most ``SCORED`` (nor ``candidates``)."""
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
        scorer = Scorer(db, query, tier)
        # A query whose words are rare has its matches read (a few short doclists); a broad
        # one goes to the tiers first, and its matches are read only if they are needed
        # (reading a few hundred of them through a narrow filter can cost more than ranking).
        # A phrase of three words or more is counted first: its pairs' counts bound it
        # loosely.
        found, complete = None, False
        if query.long_phrase:  # read as far as newest_matches reads, once
            found = source.matching(db, scope, limit=CHECKED + 1)[:candidates + 1]
            if len(found) <= candidates:  # all it finds: the matches are those that hold it
                found, complete = scorer.holding(found), True
            else:
                found = None
        elif most_matches(db, query) <= candidates:
            found, complete = newest_matches(db, source, scope, scorer, candidates)
        if complete:
            ranked = scorer.rank(found, checked=True)
        else:
            budget = max(min(SCORED, candidates), wanted)
            ranked, _ = by_impact(db, scorer, scope, wanted, budget, source, found,
                                  candidates, complete=complete)
        for key in ranked:
            if key not in seen:
                seen.add(key)
                order.append(key)
    return order


class Bounds:
    """Upper bounds of articles' scores from the levels of their words' tiers."""

    def __init__(self, db: Connection, scorer: Scorer) -> None:
        self.scorer = scorer
        self.units = [term_names(t) for t in scorer.terms]
        names = sorted({u for units in self.units for u in units})
        self.thresholds: dict[str, tuple[float, ...]] = {}
        if names:
            for name, *levels in db.execute(
                    f"select term, l1, l2, l3, l4, l5, l6 from {TERMS_TABLE} where "
                    f"l1 is not null and term in ({', '.join('?' * len(names))})", names):
                self.thresholds[name] = tuple(levels)
        self.tiered = sorted(self.thresholds)  # the units with tiers, in ``levels`` order
        self.place = {u: i for i, u in enumerate(self.tiered)}
        learned = db.execute(f"select value from {META_TABLE} where name = 'average_length'"
                             ).fetchone()
        # The tiers were cut with the average length of their sample: an archive whose
        # articles have grown longer since weighs a word a little more in each of them.
        self.drift = min(1.0, (learned[0] if learned else 0.0) / scorer.average) or 1.0
        self.depth = 0  # the levels read
        self._known: dict[tuple[int, ...], float] = {}

    def impact(self, unit: str, level: int) -> float:
        """The most the unit can weigh (``tf / (tf + norm)``) in an article where its tier
        level is ``level`` (0: in none of the levels read)."""
        thresholds = self.thresholds.get(unit)
        if thresholds is None:
            return 1.0
        if not level:
            most = thresholds[self.depth - 1] if self.depth else 1.0
        else:
            most = thresholds[level - 2] if level > 1 else 1.0
        return most / (most + self.drift * (1 - most)) if most < 1 else 1.0

    def read(self, depth: int) -> None:
        self.depth = depth
        self._known.clear()  # the bound of a unit in no level read has dropped

    def score(self, levels: tuple[int, ...]) -> float:
        """The most an article can score whose tiered units are at ``levels``."""
        if levels not in self._known:
            total = 0.0
            for idf, units in zip(self.scorer.idfs, self.units, strict=True):
                weight = min((self.impact(u, levels[self.place[u]] if u in self.place else 0)
                              for u in units), default=1.0)
                total += idf * (BM25_K1 + 1) * weight
            self._known[levels] = total
        return self._known[levels]


def by_impact(db: Connection, scorer: Scorer, scope: Scope, wanted: int, budget: int,
              source: Source, found: list[int] | None, candidates: int,
              complete: bool = False) -> tuple[list[int], bool]:
    """The best ``wanted`` matches by the threshold algorithm over the impact tiers (see the
    module's docstring), at most ``budget`` scored, and whether they are bm25's own top.
    When the tiers run out before the budget (or the page is not full), the newest matches
    (``found`` and whether they are all of them, ``complete``; when None, read with
    ``newest_matches``) are scored: all of them when complete (exact), else enough to fill
    the page.

    Level by level, the articles read so far are scored best bound first while one of them
    could beat an article not read yet; then the next level is read, which lowers that
    bound. It stops when the page's last score is at least every bound left (exact), or
    when ``budget`` articles are scored."""
    bounds = Bounds(db, scorer)
    tiered = bounds.tiered
    seen: dict[int, list[int]] = {}
    scores: dict[int, float] = {}
    scored: set[int] = set()  # matches or not
    exact = False
    # A narrow filter: its articles read once, and the tiers read whole and kept to them,
    # rather than FTS5 intersecting every level with the filter's terms (an OR of a
    # province's portals, a date range's years and months).
    within = scope.rowids(db, WITHIN) if tiered else None
    for level in range(1, len(LEVELS) + 1) if tiered else ():
        _read_level(db, scope, within, tiered, level, seen)
        bounds.read(level)
        deepest = level == len(LEVELS) or len(seen) >= POOL
        if not deepest and len(seen) < EAGER:
            continue
        unseen = bounds.score((0,) * len(tiered))
        bound = {k: bounds.score(tuple(v)) for k, v in seen.items() if k not in scored}
        queue = sorted(bound, key=lambda k: (-bound[k], -k))
        start = 0
        while True:
            last = _kth(scores, wanted)
            top = bound[queue[start]] if start < len(queue) else -1.0  # none left
            if last >= max(top, unseen):
                exact = True  # no article left can score more than the page's last
                break
            if top <= last or len(scored) >= budget or (top <= unseen and not deepest):
                break  # nothing read can change the page: read the next level, or stop
            batch = queue[start:start + min(BATCH, budget - len(scored))]
            start += len(batch)
            scored.update(batch)
            scores.update(scorer.scores(batch, verify=True))
        if exact or deepest or len(scored) >= budget:
            break
    if not exact and (len(scored) < budget or len(scores) < wanted):
        # The tiers ran out first (a narrow filter, words in few tiers): the newest too.
        need = max(budget - len(scored), wanted - len(scores))
        if found is None:
            found, complete = newest_matches(db, source, scope, scorer, candidates, need)
        more = [k for k in found if k not in scored]
        if complete:
            exact = True
        else:
            more = more[:need]
        scores.update(scorer.scores(more, verify=False))  # matches already
    return sorted(scores, key=lambda k: (-scores[k], -k)), exact


def newest_matches(db: Connection, source: Source, scope: Scope, scorer: Scorer, most: int,
                   need: int | None = None) -> tuple[list[int], bool]:
    """The newest (last indexed) matches, ``most`` + 1 at most, and whether they are all of
    them (no more than ``most``). Where the FTS5 expression finds more than the query means
    (``Query.needs_check``), what it finds is checked against the text in that order, in
    batches, until ``need`` matches are found (default: ``most`` + 1) or ``CHECKED``
    articles are checked: many candidates that are not matches make the list incomplete
    rather than the search slow."""
    need = most + 1 if need is None else min(need, most + 1)
    if not scorer.query.needs_check(scorer.tier):
        found = source.matching(db, scope, limit=most + 1)
        return found, len(found) <= most
    candidates = source.matching(db, scope, limit=CHECKED + 1)
    found: list[int] = []
    for start in range(0, min(len(candidates), CHECKED), BATCH * 2):
        found += scorer.holding(candidates[start:min(start + BATCH * 2, CHECKED)])
        if len(found) >= need and start + BATCH * 2 < len(candidates):
            return found[:most + 1], False  # more are left unchecked
    return found[:most + 1], len(candidates) <= CHECKED and len(found) <= most


def _read_level(db: Connection, scope: Scope, within: set[int] | None, tiered: list[str],
                level: int, seen: dict[int, list[int]]) -> None:
    """Note, for each article in scope of the tier ``level`` of a unit (``tiered``), that
    level in its entry of ``seen`` (unless it was in a finer one)."""
    for i, unit in enumerate(tiered):
        token = f"u{level}{unit[:-1]}" if unit.endswith("*") else f"t{level}{unit}"
        for key in Source(AUX_TABLE, f'"{token}"', "").matching(
                db, scope if within is None else None):
            if within is None or key in within:
                entry = seen.setdefault(key, [0] * len(tiered))
                entry[i] = entry[i] or level


def _kth(scores: dict[int, float], k: int) -> float:
    """The ``k``-th best score (-1 when there are fewer)."""
    return heapq.nlargest(k, scores.values())[-1] if len(scores) >= k else -1.0
