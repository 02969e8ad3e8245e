"""Vietnamese full-text search over the index's articles.

Two contentless FTS5 tables, keyed by the ``articles`` rowid, hold what search needs:

- ``search_fts``: the title and the body (summary and text) twice, as folded words and as
  exact words (``archive.vietnamese``); ``meta``: terms for the portal, the category and
  the date (year, month and day), so that a filter is terms FTS5 intersects with the
  query's own, skipping through the longer doclists with their indexes, and a date range is
  the fewest years, months and days that cover it; and ``pairs``: each pair of adjacent
  folded words as one term (``nong-thon``). The table keeps which columns hold a word, not
  where (``detail=column``): positions were most of its size, and reading them made a
  phrase of common words cost seconds. A phrase is found by its pairs; where that can find
  more than the phrase (three words or more, or diacritics), the text tells
  (``Query.needs_check``, ``scoring.Scorer.holds``).
- ``search_aux`` (no positions, a tenth of the text's size): the 2- and 3-letter prefixes of
  every folded word, so that ``ng*`` is one doclist rather than a merge of every word that
  starts with ng; the same filter terms; and *impact tiers*: for each frequent word, pair
  and prefix, the articles where it weighs the most in bm25 (below), in six levels from its
  top 0.01% to its top 3%, with thresholds learned from a sample of the archive
  (``search_terms``).

Newest-first reads every match and sorts them when ``search_terms`` says there can be few
(``PROBE``); otherwise it walks back from the newest day in spans of days (one first, then
sized from the matches found per day so far) until the page is full.

A query is parsed here, never handed to FTS5 as typed, so any text a user types is valid.

Ranking (``--sort relevance``): exact-diacritic matches first, then fold-only ones; inside
each, bm25 as FTS5's ``bm25()`` defines it, computed here from the stored text (``scoring``:
FTS5's own counts every match of every term first, seconds for a common word at a million
articles), for every match when there are at most ``CANDIDATES``, else by the threshold
algorithm over the impact tiers (``ranking``): exact when its bound is reached, the best of
those scored otherwise.

The stages, one module each, each importing only those above it in this list:
``tables`` (names, opening), ``terms`` (an article's word forms and filter terms), ``tiers``
(learning the impact tiers), ``indexing`` (keeping the tables in step), ``scope`` (filters
as terms, reading matches), ``scoring`` (bm25 of a few articles), ``ranking`` (which are
scored, in what order), ``snippets``, ``results``
(a search's hits). The query language is ``archive/query.py``.
"""

from __future__ import annotations

import importlib
from typing import Any

from archive.search.results import SORTS, count, search
from archive.search.snippets import HIGHLIGHT
from archive.search.tables import MATCHES, SEARCH_MIGRATION, connect
from archive.search.terms import search_columns

__all__ = ["HIGHLIGHT", "MATCHES", "SEARCH_MIGRATION", "SORTS", "connect", "count",
           "create_index", "index_article", "maintain", "search", "search_columns",
           "unindex_article"]

# Writing the index is loaded when first asked for: a search (a command-line process of its
# own) never needs it, and its imports are a few percent of a search's start-up.
_INDEXING = ("create_index", "index_article", "maintain", "unindex_article")


def __getattr__(name: str) -> Any:
    if name in _INDEXING:
        return getattr(importlib.import_module("archive.search.indexing"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
