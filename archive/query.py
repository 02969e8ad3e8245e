"""What a user types into a search, parsed: words, "phrases", AND, OR, NOT, -word, prefix*.

The syntax, as ``search --help`` and the README give it: words are all required (``AND``
between them says the same); ``OR`` joins alternatives (it binds looser than the words around
it: ``a b OR c`` is ``(a b) OR c``); ``NOT word`` or ``-word`` leaves out the articles holding
that word (or ``-"phrase"``), whatever the rest of the query; ``"quoted words"`` must be
adjacent; ``word*`` is a prefix. The operators are the upper-case words ``AND``, ``OR`` and
``NOT``; in lower case they are words. Other punctuation separates words.

A query is never handed to FTS5 as typed: any text is a valid query (or a ``QueryError``
that says why it has nothing to look for). ``Query.fts`` writes the FTS5 expression for the
columns of ``archive/search/``'s index, flat however many words are excluded (nested
NOTs overflow FTS5's parser stack near a hundred), and a query of more than
``MAX_WORDS`` words is refused with a message rather than run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archive.vietnamese import exact_word, fold_word, has_marks, word_pairs, words

MAX_WORDS = 100  # words of a query, excluded ones included: a pasted paragraph is refused
OPERATORS = ("AND", "OR", "NOT")


class QueryError(ValueError):
    """A query that cannot mean anything (no word to look for); the message says why."""


@dataclass
class Term:
    """A word or a phrase (adjacent words) of a query; ``prefix`` for ``word*``."""

    words: list[str]
    prefix: bool = False

    def fts(self, exact: bool) -> str:
        """The term as an FTS5 expression over the search table's columns. The table keeps
        no word positions (a tenth of the size of keeping them): a phrase is its words'
        adjacent pairs, each indexed as one token (``nong-thon thon-moi``). That is the
        phrase itself for two folded words; for more, or with diacritics, the articles it
        finds may hold the pairs apart, or spelt otherwise, and are checked against their
        text (``needs_check``)."""
        folded = [fold_word(w) for w in self.words]
        if len(folded) == 1:
            column = "{title_x body_x}" if exact else "{title_f body_f}"
            form = exact_word(self.words[0]) if exact else folded[0]
            return f'{column} : "{form}"' + ("*" if self.prefix else "")
        # With diacritics the pairs too: the text check tells the spellings apart, and
        # the exact words' long doclists would triple the cost of reading under a filter.
        return "pairs : (" + " AND ".join(f'"{pair}"' for pair in word_pairs(folded)) + ")"

    def fts_is_exact(self, exact: bool) -> bool:
        """Whether ``fts`` finds exactly the articles that hold the term."""
        return len(self.words) == 1 or len(self.words) == 2 and not exact

    @property
    def marked(self) -> bool:
        return any(has_marks(w) for w in self.words)

    def is_exact(self, tier: str) -> bool:
        """Whether the term is matched with its diacritics in that tier (see Query.fts)."""
        return not self.prefix and (tier == "exact" or tier == "marked" and self.marked)

    @property
    def short_prefix(self) -> str | None:
        """The folded prefix when it is 2 or 3 letters (the search index holds those)."""
        folded = fold_word(self.words[0])
        return folded if self.prefix and 2 <= len(folded) <= 3 else None


@dataclass
class Query:
    """Groups of terms joined by OR (each group needs all its terms), minus excluded terms."""

    groups: list[list[Term]] = field(default_factory=lambda: [[]])
    excluded: list[Term] = field(default_factory=list)

    @property
    def terms(self) -> list[Term]:
        return [t for g in self.groups for t in g]

    @property
    def marked(self) -> bool:
        return any(t.marked and not t.prefix for t in self.terms)

    @property
    def long_phrase(self) -> bool:
        """Whether a term is a phrase of three words or more."""
        return any(len(t.words) > 2 for t in self.terms)

    @property
    def short_prefix(self) -> str | None:
        """The prefix, when the whole query is one short prefix (``ng*``)."""
        terms = self.terms
        return terms[0].short_prefix if len(terms) == 1 and not self.excluded else None

    def fts(self, tier: str) -> str:
        """The FTS5 expression: ``folded`` (diacritics ignored), ``marked`` (words typed
        with diacritics must match them, the rest folded) or ``exact`` (every word as
        typed, unmarked words unmarked). Where ``needs_check``, it finds more articles than
        the query means (phrases of three words or more, or with diacritics), never fewer;
        an excluded phrase it cannot tell exactly is left to that check."""
        groups = [" AND ".join(f"({t.fts(t.is_exact(tier))})" for t in g)
                  for g in self.groups if g]
        expr = " OR ".join(f"({g})" for g in groups)
        excluded = [t for t in self.excluded if t.fts_is_exact(False)]
        if excluded:  # one flat NOT of all of them: nesting would overflow FTS5's parser
            expr = f"({expr}) NOT ({' OR '.join(f'({t.fts(False)})' for t in excluded)})"
        return expr

    def needs_check(self, tier: str) -> bool:
        """Whether the articles ``fts(tier)`` finds must be checked against their text."""
        return (any(not t.fts_is_exact(t.is_exact(tier)) for t in self.terms)
                or any(not t.fts_is_exact(False) for t in self.excluded))


_TOKEN = re.compile(r'(?P<sign>-?)"(?P<phrase>[^"]*)"?|(?P<word>\S+)')


def parse_query(text: str) -> Query:
    """Parse what a user typed (the syntax is in the module's docstring); a hyphenated word
    (``Covid-19``) is a phrase."""
    query = Query()
    negate = False  # the last token was NOT
    for m in _TOKEN.finditer(text or ""):
        word = m["word"]
        if word in OPERATORS:
            if word == "OR" and query.groups[-1]:
                query.groups.append([])
            negate = word == "NOT"
            continue
        if word is None:
            raw, negative, prefix = m["phrase"], bool(m["sign"]), False
        else:
            raw, negative, prefix = word, word.startswith("-") and len(word) > 1, \
                word.endswith("*")
        negative, negate = negative or negate, False
        found = words(raw)
        if not found:
            continue
        term = Term(found, prefix=prefix and len(found) == 1)
        (query.excluded if negative else query.groups[-1]).append(term)
    query.groups = [g for g in query.groups if g] or [[]]
    if not query.terms:
        raise QueryError("nothing to search for: type at least one word (letters or digits)"
                         if not query.excluded else
                         "a query needs at least one word to look for, not only -excluded words")
    count = sum(len(t.words) for t in (*query.terms, *query.excluded))
    if count > MAX_WORDS:
        raise QueryError(f"the query has {count} words: at most {MAX_WORDS} are searched at "
                         "once; keep the ones that matter")
    return query
