"""Stage 3c: who wrote the article.

A careful reader's order: the credit printed under (or over) the text, confirmed or completed
by JSON-LD ``author``; ``<meta name="author">`` only when it is not the site's own name.
Placeholder accounts ("admin admin") are nobody; agency credits ("(TTXVN/Vietnam+)") are a
source, and stand as the author when no person is named.
"""

from __future__ import annotations

import re

from . import chrome
from .blocks import Block
from .normalize import norm

# A credit line: a few capitalised words, optionally with an organisation in parentheses,
# or "Theo ..." (Vietnamese "according to") naming the original publisher.
_CREDIT = re.compile(
    r"^(?:(?:theo|nguồn tin|bài(?: và ảnh)?|ảnh|tin(?: và ảnh)?|tin, ảnh|bài, ảnh|pv|ctv)\s*:?\s+)?"
    r"[A-ZĐÀ-Ỹ][\w.'’-]*(?:\s+[\w.'’&-]+){0,8}"
    # ... then the unit: "Nguyễn Văn A (TTVH)", "Nguyễn Văn A - Trung tâm Văn hóa, Thông tin".
    r"(?:\s*\([^)]{1,60}\)|\s+[-–]\s+[A-ZĐÀ-Ỹ][^.!?]{1,60})?\s*$", re.U)
CREDIT_PREFIX = re.compile(r"^theo\s+\S", re.I)
# "Tác giả: Minh Anh": a labelled byline; the label is not part of the name.
AUTHOR_LABEL = re.compile(r"^(?:tác giả|người viết|phóng viên|bài viết|người đăng|bài và ảnh"
                          r"|bài, ảnh|tin, ảnh|by)\s*:\s*", re.I)
SENTENCE_END = re.compile(r"[.!?…:;]\"?$")
# A bare name: two to five capitalised words, nothing else ("Lê Phương", "Bich Thao").
_NAME = re.compile(r"^[A-ZĐÀ-Ỹ][\w'’.-]*(?:\s+[A-ZĐÀ-Ỹ][\w'’.-]*){1,4}$", re.U)
# An agency or source credit: "(TTXVN/Vietnam+)", "TTXVN", a lone "TP", "(Theo VOV)".
_AGENCY = re.compile(r"^\(?\s*(?:theo\s+)?[A-ZĐ][A-ZĐ0-9]{1,9}\+?(?:\s*[/,-]\s*[\w+.]"
                     r"(?:[\w+. ]{0,24}[\w+.])?){0,2}\s*\)?\.?$", re.U | re.I)
_AGENCY_CASE = re.compile(r"[A-ZĐ]{2}")
# Accounts of the CMS, printed where a byline goes: nobody's name.
_PLACEHOLDER = re.compile(r"^(?:\w+\s+)?(?:admin(?:istrator)?|adm|webmaster|root|quản\s*trị"
                          r"(?:\s*viên)?|quantri|super\s*user|guest|user\d*|test)(?:\s+\w+)?$",
                          re.I)
# Job titles printed after a byline: "Đàm Đệ Nhà báo".
_ROLE = re.compile(r"\s+(?:nhà báo|phóng viên|biên tập viên|cộng tác viên|pv|ctv|btv)\.?$",
                   re.I)
_DOMAIN = re.compile(r"\b[\w-]+\.(?:vn|com|net|org|gov|edu|info)\b", re.I)
_COMPACT = re.compile(r"[\W_]+")


def compact(text: str) -> str:
    """Lower-case letters and digits only: how two spellings of one name are compared."""
    return _COMPACT.sub("", text.lower())


def is_placeholder(name: str) -> bool:
    """A CMS account ("admin admin", "Admin English"), not a person."""
    return bool(_PLACEHOLDER.search(name))


def is_publisher(name: str, site_names: set[str]) -> bool:
    """The site or publisher itself ("Báo điện tử Tiền Phong", "VCCorp.vn", "VnExpress")."""
    if _DOMAIN.search(name):
        return True
    c = compact(name)
    if not c:
        return True
    for site in site_names:
        s = compact(site.split(".")[0] if _DOMAIN.fullmatch(site) else site)
        if len(s) >= 4 and (s in c or c in s):
            return True
    return False


def is_agency(text: str) -> bool:
    """An agency/source credit closing the text: "(TTXVN/Vietnam+)", "TTXVN", "TP"."""
    return len(text) <= 40 and bool(_AGENCY.match(text)) and bool(_AGENCY_CASE.search(text))


def clean_name(text: str) -> str:
    """The credit as printed, without its label, job title or wrapping parentheses."""
    text = AUTHOR_LABEL.sub("", norm(text))
    text = _ROLE.sub("", text)
    if text.startswith("(") and text.endswith(")") and text.count("(") == 1:
        text = text[1:-1].strip()
    return text


def is_credit(b: Block, max_chars: int) -> bool:
    """A line that credits the article: labelled, "Theo ...", a styled name (right-aligned,
    bold or italic), an agency credit, or a bare name."""
    text = b.text
    if len(text) > max_chars or b.links or not text:
        return False
    if is_agency(text):
        return True
    if _NAME.match(text) and len(text) <= 40 and not chrome.is_chrome_line(text):
        return True
    styled = b.align() == "right" or b.strong_chars >= 0.8 * len(text) or (
        b.em_chars >= 0.8 * len(text))
    if CREDIT_PREFIX.match(text):
        return styled or len(text.split()) <= 12
    label = AUTHOR_LABEL.match(text)
    if label:
        return 0 < len(text[label.end():].split()) <= 8
    if not styled or SENTENCE_END.search(text) and not text.endswith(")"):
        return False
    name = re.split(r"\s+[-–(]", text, maxsplit=1)[0]
    return bool(_CREDIT.match(text)) and len(name.split()) <= 8


def choose(printed: str | None, near: list[Block], ld_authors: list[str],
           meta_author: str | None, site_names: set[str]) -> str | None:
    """The author from the printed credit, JSON-LD persons and the meta author.

    ``near`` are the short lines around the article (bylines over the text, credits under
    it), searched for the printed form of a JSON-LD name."""
    people = [a for a in ld_authors if not is_placeholder(a) and not is_publisher(a, site_names)]
    if printed and not is_agency(printed):
        return printed
    for person in people:
        want = compact(person)
        for b in near:
            if len(b.text) <= 60 and compact(clean_name(b.text)) == want:
                return clean_name(b.text)  # as printed: "Tâm Hằng (TTXVN)" for "Tâm HằngTTXVN"
        return person
    if printed:
        return printed
    if meta_author and not is_placeholder(meta_author) and not is_publisher(
            meta_author, site_names) and len(meta_author) <= 60:
        return meta_author
    return None
