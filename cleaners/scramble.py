"""Rename every class and id token of a page, consistently per host.

The same HTML structure with a vocabulary nobody has seen is what a CMS we never met looks
like: ``portal-archive eval --scramble-classes`` scores the extractor on such pages, to check
that structure, not class words, finds the article.
"""

from __future__ import annotations

import hashlib
import re

# class="a b" / id='x' / class=x, in the raw bytes (ASCII-compatible encodings and UTF-8
# alike: attribute names and quotes are ASCII in all of them).
_ATTR = re.compile(
    rb"""(?i)(?<=[\s"'/])(class|id)(\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")


def scramble_token(host: str, token: str) -> str:
    """The stand-in name of ``token`` on ``host``: stable, and unrelated to the original."""
    return "k" + hashlib.blake2s(f"{host}\0{token}".encode(), digest_size=5).hexdigest()


def scramble_classes(body: bytes, host: str) -> bytes:
    """``body`` with each class/id token replaced by :func:`scramble_token` (one host, one map)."""

    def rename(m: re.Match[bytes]) -> bytes:
        value = m.group(3) if m.group(3) is not None else (
            m.group(4) if m.group(4) is not None else m.group(5))
        quote = b'"' if m.group(3) is not None else b"'" if m.group(4) is not None else b""
        tokens = value.decode("latin-1").split()
        renamed = " ".join(scramble_token(host, t) for t in tokens).encode("latin-1")
        return m.group(1) + m.group(2) + quote + renamed + quote

    return _ATTR.sub(rename, body)
