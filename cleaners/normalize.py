"""Text normalisation: Unicode NFC and collapsed whitespace, the form every output string has."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter

# \s in Python's re already covers NBSP, the narrow/figure spaces and line separators; the
# zero-width characters are not whitespace but editors paste them into Vietnamese text.
_SPACES = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")


# C0 and C1 control characters but tab, newline and carriage return (whitespace, collapsed
# where text is normalised): nothing a portal sends may move a terminal's cursor, set its
# window title or write its clipboard (ESC ] 52) once archived text is printed.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def archive_text(text: str) -> str:
    """``text`` as every text enters the archive: Unicode NFC, no control characters."""
    return _CONTROLS.sub("", unicodedata.normalize("NFC", text))


def norm(text: str) -> str:
    """NFC with every whitespace run (NBSP and line breaks included) collapsed to one space."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return _SPACES.sub(" ", text).strip()


def tokens(text: str) -> list[str]:
    """Whitespace tokens of the normalised text (the unit the evaluation scores on)."""
    return norm(text).split()


def digest(paragraphs: list[str]) -> str:
    """sha1 over the normalised body, so the same article fetched twice hashes the same."""
    joined = "\n".join(norm(p) for p in paragraphs)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def token_prf(got: str, want: str) -> tuple[float, float, float]:
    """Multiset token precision/recall/F1 of ``got`` against ``want``."""
    g, w = Counter(tokens(got)), Counter(tokens(want))
    common = sum((g & w).values())
    p = common / sum(g.values()) if g else (1.0 if not w else 0.0)
    r = common / sum(w.values()) if w else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f
