"""Vietnamese word forms for search: folded (no marks at all) and exact (marks kept, tone
placement ignored).

FTS5's own folding cannot serve Vietnamese: ``remove_diacritics 1`` keeps letters with two
marks (ộ, ế, ầ), no Unicode folding maps đ to d, and a tone mark written on a different
vowel ("hóa" / "hoá", "thủy" / "thuỷ") makes a different token. So the index is fed words
we have already folded, in two forms, and queries are folded the same way:

- folded: ASCII letters only, ``"Đường" -> "duong"``;
- exact: every mark spelt out in ASCII in the way Telex typists write it, the tone last,
  ``"đường" -> "dduwowngf"``, ``"hóa"`` and ``"hoá"`` both ``"hoas"``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Letters and digits: "_" separates words, as it does for FTS5's unicode61 tokenizer (a word
# the tokenizer split would be a phrase to the index, and a phrase of one indexed word).
WORD = re.compile(r"[^\W_]+")

# Tone marks (one per syllable) and the Telex letter each is typed with.
_TONES = {"\u0300": "f", "\u0301": "s", "\u0303": "x", "\u0309": "r", "\u0323": "j"}
# Vowel-quality marks: breve (ă), circumflex (â ê ô), horn (ơ ư).
_QUALITY = {"\u0306": "w", "\u031b": "w"}
_CIRCUMFLEX = "\u0302"


def words(text: str) -> list[str]:
    """The words of ``text`` as FTS5's tokenizer would see them, lower-cased NFC."""
    return WORD.findall(unicodedata.normalize("NFC", text).lower())


@lru_cache(maxsize=65536)  # a language has few distinct words; texts repeat them
def fold_word(word: str) -> str:
    """``"Đường" -> "duong"``: no marks, đ as d, lower case."""
    decomposed = unicodedata.normalize("NFD", word.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def exact_word(word: str) -> str:
    """``"đường" -> "dduwowngf"``: marks kept as Telex letters, the tone at the end, so the
    vowel a tone mark was written on does not matter."""
    out: list[str] = []
    tone = ""
    for c in unicodedata.normalize("NFD", word.lower()):
        if c == "đ":
            out.append("dd")
        elif c in _TONES:
            tone = _TONES[c]
        elif c in _QUALITY:
            out.append(_QUALITY[c])
        elif c == _CIRCUMFLEX and out:
            out.append(out[-1][-1])
        elif not unicodedata.combining(c):
            out.append(c)
    return "".join(out) + tone


def has_marks(word: str) -> bool:
    """True when the word carries any Vietnamese mark (or đ)."""
    return fold_word(word) != word.lower()


def word_pairs(folded: list[str]) -> list[str]:
    """Adjacent pairs of folded words as the search index holds them: ``nong-thon``."""
    return [f"{a}-{b}" for a, b in zip(folded, folded[1:], strict=False)]


def folded_text(text: str | None) -> str:
    """A whole text as space-separated folded words, for the index."""
    return " ".join(map(fold_word, words(text or "")))


def exact_text(text: str | None) -> str:
    """A whole text as space-separated exact words, for the index."""
    return " ".join(map(exact_word, words(text or "")))
