"""Bytes to text in WHATWG order: BOM, HTTP charset, <meta> charset, then sniffing.

Sniffing prefers UTF-8 when the bytes are valid UTF-8, else windows-1258 (the Vietnamese
Windows code page, which also decodes every byte, so it never fails).  Legacy TCVN3/VNI text
runs are converted afterwards; the result is NFC.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Mapping

from . import legacy

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(
    rb"<meta[^>]+?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
# Text between tags; legacy detection works on such runs so a mixed page (Unicode chrome,
# TCVN3 article) converts only the legacy parts.
_TEXT_RUN = re.compile(r">([^<]{2,})<")
# WHATWG maps these labels to windows-1252; Python's latin-1 would lose the 0x80-0x9F letters.
_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
            "ascii": "cp1252", "windows-1258": "cp1258", "utf8": "utf-8", "unicode": "utf-8",
            "x-user-defined": "cp1252"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _ALIASES.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # A page declaring UTF-16 in a <meta> is ASCII-compatible by definition (WHATWG rule).
    return "utf-8" if name.startswith("utf-16") else name


def header_charset(headers: Mapping[str, str] | None) -> str | None:
    """The charset parameter of the Content-Type header, header names compared case-blind."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "content-type" and value:
            m = _HEADER_CHARSET.search(value)
            return m.group(1) if m else None
    return None


def decode(body: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str, str | None]:
    """Return (NFC text, codec name, legacy conversion or None)."""
    encoding = None
    for bom, name in _BOMS:
        if body.startswith(bom):
            encoding, body = name, body[len(bom):]
            break
    if encoding is None:
        encoding = _codec(header_charset(headers))
    if encoding is None:
        m = _META_CHARSET.search(body[:4096])
        encoding = _codec(m.group(1).decode("ascii", "replace")) if m else None
    text = None
    if encoding is not None:
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            text = None
    if text is None:
        try:
            text, encoding = body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1258"
            text = body.decode(encoding, errors="replace")
    text, conversion = convert_legacy(text, encoding)
    return unicodedata.normalize("NFC", text), _whatwg_name(encoding), conversion


def _whatwg_name(codec: str) -> str:
    return {"cp1258": "windows-1258", "cp1252": "windows-1252", "utf_8": "utf-8"}.get(
        codec, codec.replace("_", "-"))


def convert_legacy(text: str, codec: str = "cp1252") -> tuple[str, str | None]:
    """Convert TCVN3/VNI text runs; cheap when the page has no legacy hint at all."""
    # Most pages are plain Unicode: skip the per-run scan unless a legacy font is named or
    # the page has no Vietnamese Unicode letter at all.
    if not legacy.LEGACY_FONT.search(text) and legacy._UNICODE_VI.search(text):
        return text, None
    found: list[str] = []

    def fix(m: re.Match[str]) -> str:
        run = m.group(1)
        if codec not in ("utf-8", "cp1252") and not codec.startswith("utf"):
            # Legacy tables are keyed on the raw byte values (read as Latin-1): undo the code
            # page, e.g. windows-1258 turns TCVN3 0xEC into a combining mark.
            try:
                run = run.encode(codec).decode("latin-1")
            except UnicodeError:
                return m.group(0)
        kind = legacy.detect(run)
        if kind is None:
            return m.group(0)
        found.append(kind)
        return ">" + legacy.convert(run, kind) + "<"

    text = _TEXT_RUN.sub(fix, text)
    if not found:
        return text, None
    return text, max(set(found), key=found.count)
