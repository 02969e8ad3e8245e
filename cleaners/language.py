"""The language of an article, detected from its text (py3langid), not from <html lang>:
portals serve English editions under ``lang="vi"`` and the other way round."""

from __future__ import annotations

import py3langid

_SAMPLE = 2000  # characters: more does not change the answer, only the time


def detect(title: str, body: list[str], default: str = "vi") -> str:
    """ISO 639-1 code of the text; ``default`` when there is no text to tell."""
    sample = " ".join([title, *body])[:_SAMPLE]
    if sum(ch.isalpha() for ch in sample) < 20:
        return default
    return py3langid.classify(sample)[0]
