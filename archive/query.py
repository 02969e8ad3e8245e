"""What a user types into a search, parsed: words, "phrases", OR, -excluded, prefix*.

A query is never handed to FTS5 as typed: any text is a valid query (or a ``QueryError``
that says why it has nothing to look for). ``Query.fts`` writes the FTS5 expression for the
columns of ``archive/search.py``'s index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archive.vietnamese import exact_word, fold_word, has_marks, words


class QueryError(ValueError):
    """A query that cannot mean anything (no word to look for); the message says why."""


@dataclass
class Term:
    """A word or a phrase (adjacent words) of a query; ``prefix`` for ``word*``."""

    words: list[str]
    prefix: bool = False

    def fts(self, exact: bool) -> str:
        forms = [exact_word(w) if exact else fold_word(w) for w in self.words]
        return '"' + " ".join(forms) + '"' + ("*" if self.prefix else "")

    @property
    def marked(self) -> bool:
        return any(has_marks(w) for w in self.words)


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

    def fts(self, tier: str, title_only: bool = False) -> str:
        """The FTS5 expression: ``folded`` (diacritics ignored), ``marked`` (words typed
        with diacritics must match them, the rest folded) or ``exact`` (every word as
        typed, unmarked words unmarked); in titles only, or in titles and bodies."""
        folded, exact = ("title_f", "title_x") if title_only else (
            "{title_f body_f}", "{title_x body_x}")

        def term(t: Term) -> str:
            if not t.prefix and (tier == "exact" or tier == "marked" and t.marked):
                return f"{exact} : " + t.fts(True)
            return f"{folded} : " + t.fts(False)

        groups = [" AND ".join(term(t) for t in g) for g in self.groups if g]
        expr = " OR ".join(f"({g})" for g in groups)
        for t in self.excluded:
            expr = f"({expr}) NOT ({{title_f body_f}} : {t.fts(False)})"
        return expr


_TOKEN = re.compile(r'"(?P<phrase>[^"]*)"?|(?P<word>\S+)')


def parse_query(text: str) -> Query:
    """Parse what a user typed: ``"a phrase"``, ``OR``, ``-excluded``, ``prefix*``; other
    punctuation separates words, and a hyphenated word (``Covid-19``) is a phrase."""
    query = Query()
    for m in _TOKEN.finditer(text or ""):
        raw = m["phrase"] if m["phrase"] is not None else m["word"]
        if m["word"] == "OR":
            if query.groups[-1]:
                query.groups.append([])
            continue
        negative = m["word"] is not None and raw.startswith("-") and len(raw) > 1
        prefix = m["word"] is not None and raw.endswith("*")
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
    return query
