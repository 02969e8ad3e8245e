"""Snippets: the window of an article's text with the most query words, those words marked."""

from __future__ import annotations

import bisect

from archive.query import Query
from archive.search.scoring import term_pattern, word_starts_at
from archive.vietnamese import WORD

HIGHLIGHT = ("\x02", "\x03")


def snippet(text: str, query: Query, size: int = 24) -> str:
    """The ``size``-word window of ``text`` with the most query words, those words marked:
    each word of the query's terms where it occurs (a phrase where it occurs whole)."""
    words = [(m.start(), m.end()) for m in WORD.finditer(text)]  # stored text is NFC already
    if not words:
        return ""
    starts = [start for start, _ in words]
    hit_set: set[int] = set()
    for term in query.terms:
        for m in term_pattern(term).finditer(text):
            if word_starts_at(text, m.start()):
                first = bisect.bisect_left(starts, m.start())
                hit_set.update(range(first, bisect.bisect_left(starts, m.end(), first)))
    hits = sorted(hit_set)
    best = 0
    if hits:
        # The window starting at a hit that holds the most hits (two pointers over them).
        most, last = -1, 0
        for i, start in enumerate(hits):
            last = max(last, i)
            while last + 1 < len(hits) and hits[last + 1] < start + size:
                last += 1
            if last - i + 1 > most:
                most, best = last - i + 1, start
        best = max(0, min(best - 3, len(words) - size))
    window = words[best:best + size]
    out, pos = [], window[0][0]
    for i, (start, end) in enumerate(window, start=best):
        out.append(text[pos:start])
        word = text[start:end]
        out.append(f"{HIGHLIGHT[0]}{word}{HIGHLIGHT[1]}" if i in hit_set else word)
        pos = end
    prefix = "…" if best > 0 else ""
    suffix = "…" if best + size < len(words) else ""
    return prefix + "".join(out).replace("\n", " ") + suffix
