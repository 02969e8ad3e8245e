"""Legacy Vietnamese 8-bit font encodings (TCVN3/ABC and VNI) to Unicode.

Pages typed with ".VnTime" (TCVN3) or "VNI-Times" (VNI) fonts store Vietnamese letters as
Latin-1 bytes that only look right with that font installed.  Decoded as Latin-1 or cp125x
they read like "Céng hoµ x· héi" (TCVN3) or "Coäng hoøa xaõ hoäi" (VNI).  We detect such text
runs and map them back to Unicode.  Tables are written from the published code charts.
"""

from __future__ import annotations

import re
import unicodedata

# TCVN3 (TCVN 5712:1993, VN3): one byte per letter.  Capitals with tones do not exist in this
# set (upper case used a separate "H" font), so toned letters map to lower case.
_TCVN3_BYTES = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}
TCVN3 = {chr(b): u for b, u in _TCVN3_BYTES.items()}

# VNI: a base letter followed by one "mark" byte (two marks fused for â/ă/ê/ô + tone); ơ, ư,
# đ and the i-vowels are single bytes.  Keys are the Latin-1 spelling of the byte pairs.
_VNI_TONES = {"ù": "\u0301", "ø": "\u0300", "û": "\u0309", "õ": "\u0303", "ï": "\u0323"}
_VNI_HAT_TONES = {"á": "\u0301", "à": "\u0300", "å": "\u0309", "ã": "\u0303", "ä": "\u0323"}
_VNI_BREVE_TONES = {"é": "\u0301", "è": "\u0300", "ú": "\u0309", "ü": "\u0303", "ë": "\u0323"}


def _vni_table() -> dict[str, str]:
    table: dict[str, str] = {}

    def put(key: str, value: str) -> None:
        table[key] = unicodedata.normalize("NFC", value)
        table[key.upper()] = unicodedata.normalize("NFC", value.upper())

    for base in "aeiouy":
        for mark, comb in _VNI_TONES.items():
            put(base + mark, base + comb)
    for base in "aeo":
        put(base + "â", base + "\u0302")
        for mark, comb in _VNI_HAT_TONES.items():
            put(base + mark, base + "\u0302" + comb)
    put("aê", "ă")
    for mark, comb in _VNI_BREVE_TONES.items():
        put("a" + mark, "a\u0306" + comb)
    for base, letter in (("ô", "ơ"), ("ö", "ư")):
        for mark, comb in _VNI_TONES.items():
            put(base + mark, letter + comb)
        put(base, letter)
    put("ñ", "đ")
    for single, letter in (("í", "í"), ("ì", "ì"), ("æ", "ỉ"), ("ó", "ĩ"), ("ò", "ị"), ("î", "ỵ")):
        put(single, letter)
    return table


VNI = _vni_table()
# Longest keys first so "oà" (ồ) wins over "o" + "à".
_VNI_RE = re.compile("|".join(sorted(map(re.escape, VNI), key=len, reverse=True)))
_TCVN3_RE = re.compile("[" + "".join(map(re.escape, TCVN3)) + "]")

# Characters that only occur in real Unicode Vietnamese: if a run has them it is not legacy.
_UNICODE_VI = re.compile(
    "[\u0102\u0103\u0110\u0111\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9\u0300-\u0323]")
# TCVN3 letters that never appear in French/German/ASCII text: strong evidence.
_TCVN3_STRONG = re.compile("[µ¸¶·¹¨©ª«¬\u00ad®»¼½¾×ØÜÝÞß]")
# VNI vowel + mark pairs that no Western language produces.
_VNI_STRONG = re.compile("[aeouyAEOUY][øùûõïâêáàåãäéèúüë]|[ôöÔÖ][øùûõï]|ñ")

LEGACY_FONT = re.compile(r"\.Vn[A-Z][A-Za-z]*|VNI[- ][A-Za-z]+", re.I)


def detect(text: str) -> str | None:
    """'tcvn3', 'vni' or None for one run of text (decoded as Latin-1/cp125x)."""
    if text.isascii() or _UNICODE_VI.search(text):
        return None
    words = max(1, len(text.split()))
    tcvn = len(_TCVN3_STRONG.findall(text))
    vni = len(_VNI_STRONG.findall(text))
    # Vietnamese has a diacritic in most words; a handful of hits in a long run is noise.
    if tcvn >= 2 and tcvn >= vni and tcvn / words > 0.15:
        return "tcvn3"
    if vni >= 2 and vni / words > 0.15:
        return "vni"
    return None


def convert(text: str, kind: str) -> str:
    """Map one legacy-encoded run to Unicode."""
    if kind == "tcvn3":
        return _TCVN3_RE.sub(lambda m: TCVN3[m.group()], text)
    return _VNI_RE.sub(lambda m: VNI[m.group()], text)
