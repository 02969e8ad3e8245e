"""Snippets: the window of an article's text with the most query words, those words marked."""

from __future__ import annotations

from collections.abc import Iterator

from archive.query import Query
from archive.vietnamese import WORD, fold_word

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
