"""Publication dates: ISO strings from meta/JSON-LD values, visible Vietnamese date lines, URLs.

Output is ``YYYY-MM-DD`` when only a date is known, ``YYYY-MM-DDTHH:MM:SS+07:00`` with a time
(Vietnam has one time zone, UTC+7, and portals print local time).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import NamedTuple

VN_TZ = timezone(timedelta(hours=7))

_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?")
# A clock time: "10:12", "10:12:30", "15h06", "15 giờ 06", with an optional 12-hour marker
# ("3:06 PM", "09:15 SA" = sáng/morning, "03:06 CH" = chiều/afternoon).
_CLOCK = r"(\d{1,2})\s*(?::|h|g|giờ)\s*(\d{2})(?:\s*:\s*(\d{2}))?(?:\s*(AM|PM|SA|CH)\b)?"
# dd/mm/yyyy with an optional time after it ("20/05/2020 | 10:12:00", "26/12/2022 08:30").
_DMY_TIME = re.compile(
    r"(?<!\d)(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})(?!\d)"
    rf"(?:\s*(?:[|,-]|lúc|-)?\s*{_CLOCK})?", re.I)
# time before the date ("10:12 20/05/2020", "08:30, ngày 26/12/2022").
_TIME_DMY = re.compile(
    rf"(?<!\d){_CLOCK}\s*(?:[|,-]|ngày|\(|\s)*\s*"
    r"(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})(?!\d)", re.I)
# "ngày 15 tháng 3 năm 2024", "15 Tháng 3 2024 09:12" (Joomla), "15 tháng 03, 2024".
_VI_LONG = re.compile(
    r"(?<!\d)(\d{1,2})\s+tháng\s+(\d{1,2})\s*,?\s+(?:năm\s+)?(\d{4})(?!\d)"
    rf"(?:\s*(?:[|,-]|lúc)?\s*{_CLOCK})?", re.I)
# A day and month without a year: "Chiều 12/12", "sáng nay (2.9)".
_DM = re.compile(r"(?<![\d/.])(\d{1,2})\s*[/.-]\s*(\d{1,2})(?![\d/.-]*\d{4})(?![\d])")
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|$|-)")


HINT_SOURCES = ("sitemap", "listing")


class DateHint(NamedTuple):
    """A date the crawl saw for a URL outside its page: a sitemap's lastmod, or the date a
    listing printed next to the link."""

    date: str
    source: str  # "sitemap" or "listing"


def check_hint(hint: DateHint | tuple[str, str] | None) -> DateHint | None:
    """The hint in our ISO form, or None when it is missing or unusable."""
    if hint is None:
        return None
    date, source = hint
    if source not in HINT_SOURCES:
        raise ValueError(f"date_hint source must be one of {HINT_SOURCES}, not {source!r}")
    value = parse_iso(date or "")
    return DateHint(value, source) if value else None


def _valid(y: int, m: int, d: int) -> bool:
    try:
        datetime(y, m, d)
    except ValueError:
        return False
    return 1990 <= y <= 2100


def _hour(hh: str | None, marker: str | None) -> int | None:
    """24-hour hour of a printed clock: "3" + PM/CH -> 15, "12" + AM/SA -> 0."""
    if hh is None:
        return None
    h = int(hh)
    if marker and 1 <= h <= 12:
        if marker.upper() in ("PM", "CH"):
            return h % 12 + 12
        return h % 12
    return h


def fmt(y: int, m: int, d: int, hh: int | None = None, mm: int | None = None,
        ss: int | None = None) -> str | None:
    """ISO string, date-only when no time is known; None for impossible values."""
    if not _valid(y, m, d):
        return None
    if hh is None or mm is None or not (0 <= hh < 24 and 0 <= mm < 60):
        return f"{y:04d}-{m:02d}-{d:02d}"
    return f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{(ss or 0):02d}+07:00"


def parse_iso(value: str) -> str | None:
    """A machine date (meta, JSON-LD, <time datetime>) to our ISO form, in Vietnam time."""
    m = _ISO.search(value or "")
    if not m:
        return None
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    if m[4] is None:
        return fmt(y, mo, d)
    hh, mi, ss = int(m[4]), int(m[5]), int(m[6] or 0)
    if not _valid(y, mo, d) or hh > 23 or mi > 59 or ss > 59:
        return None
    if m[7]:
        tz = UTC if m[7] == "Z" else timezone(
            (1 if m[7][0] == "+" else -1) * timedelta(hours=int(m[7][1:3]),
                                                      minutes=int(m[7][-2:])))
        local = datetime(y, mo, d, hh, mi, ss, tzinfo=tz).astimezone(VN_TZ)
        y, mo, d, hh, mi, ss = local.year, local.month, local.day, local.hour, local.minute, \
            local.second
    return fmt(y, mo, d, hh, mi, ss)


@lru_cache(maxsize=4096)  # the same lines are tried as headline, dateline and body
def parse_text(text: str) -> str | None:
    """The first full date (with its time when printed next to it) in a visible line."""
    found = []
    for m in _TIME_DMY.finditer(text):
        v = fmt(int(m[7]), int(m[6]), int(m[5]), _hour(m[1], m[4]), int(m[2]), int(m[3] or 0))
        if v:
            found.append((m.start(), v))
            break
    for m in _DMY_TIME.finditer(text):
        v = fmt(int(m[3]), int(m[2]), int(m[1]), _hour(m[4], m[7]),
                int(m[5]) if m[5] else None, int(m[6] or 0))
        if v:
            found.append((m.start(), v))
            break
    for m in _VI_LONG.finditer(text):
        v = fmt(int(m[3]), int(m[2]), int(m[1]), _hour(m[4], m[7]),
                int(m[5]) if m[5] else None, int(m[6] or 0))
        if v:
            found.append((m.start(), v))
            break
    if not found:
        return None
    # Prefer the earliest match; with a tie (same date) prefer the one that has a time.
    found.sort(key=lambda x: (x[0], -len(x[1])))
    first = found[0][1]
    with_time = [v for _, v in found if v[:10] == first[:10] and len(v) > 10]
    return with_time[0] if with_time else first


def parse_day_month(text: str) -> tuple[int, int] | None:
    """(day, month) of a yearless date like "Chiều 12/12" or "(2.9)"."""
    for m in _DM.finditer(text):
        d, mo = int(m[1]), int(m[2])
        if 1 <= d <= 31 and 1 <= mo <= 12:
            return d, mo
    return None


def from_url(url: str) -> str | None:
    """A /yyyy/mm/dd/ (or yyyymmdd) path segment."""
    m = _URL_DATE.search(url.split("?", 1)[0])
    return fmt(int(m[1]), int(m[2]), int(m[3])) if m else None


def year_of(value: str | None) -> int | None:
    """The year of an ISO string, to complete a yearless date."""
    return int(value[:4]) if value and value[:4].isdigit() else None
