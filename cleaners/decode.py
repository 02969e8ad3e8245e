"""Bytes to text in WHATWG order (BOM, HTTP charset, <meta> charset, then sniffing), through
w3lib's ``html_to_unicode``, which Scrapy uses too.

What w3lib leaves to us: sniffing prefers UTF-8 when the bytes are valid UTF-8, else
windows-1258 (the Vietnamese Windows code page, which also decodes every byte); a declared
charset the bytes do not fit (a windows-1258 page sent as utf-8) is sniffed the same way; and
legacy TCVN3/VNI text runs are converted afterwards, which no library does. The result is NFC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from w3lib.encoding import html_to_unicode, read_bom

from . import legacy
from .normalize import archive_text

# Text between tags; legacy detection works on such runs so a mixed page (Unicode chrome,
# TCVN3 article) converts only the legacy parts.
_TEXT_RUN = re.compile(r">([^<]{2,})<")
_WHATWG_NAMES = {"cp1258": "windows-1258", "cp1252": "windows-1252", "utf_8": "utf-8"}


def _content_type(headers: Mapping[str, str] | None) -> str | None:
    """The Content-Type header's value, header names compared case-blind."""
    for key, value in (headers or {}).items():
        if key.lower() == "content-type":
            return value
    return None


def _sniff(body: bytes) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1258"
    return "utf-8"


def _fits(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def decode(body: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str, str | None]:
    """Return (text as the archive keeps it: NFC, no control characters; codec name; legacy
    conversion or None). Every page's text enters the archive here."""
    content_type = _content_type(headers)
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_sniff)
    if read_bom(body)[0] is None:
        if encoding.startswith(("utf-16", "utf-32")) and not re.search(
                r"utf-?(?:16|32)", content_type or "", re.I):
            # A <meta> that declares UTF-16 is ASCII-compatible by definition (WHATWG rule).
            encoding = "utf-8"
            text = body.decode(encoding, errors="replace")
        if "\ufffd" in text and not _fits(body, encoding):
            encoding = _sniff(body)
            text = body.decode(encoding, errors="replace")
    text, conversion = convert_legacy(text, encoding)
    return archive_text(text), _whatwg_name(encoding), conversion


def _whatwg_name(codec: str) -> str:
    return _WHATWG_NAMES.get(codec, codec.replace("_", "-"))


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
