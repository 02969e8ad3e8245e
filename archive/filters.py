"""Which articles: the filters search and export share, and the SQL that applies them.

Dates follow one rule, the one of periods: ``--since`` and ``--until`` take ``YYYY``,
``YYYY-MM`` or ``YYYY-MM-DD``, and both ends are inclusive of the whole period they name.
``since 2024-03`` keeps what was published from 1 March 2024 on; ``until 2024`` keeps what was
published up to the end of 31 December 2024, whatever time of day the page printed. Articles
without a publication date are left out by either bound.

Names are compared as the portals printed them (NFC, surrounding spaces ignored, ASCII case
ignored); a province matches as the portal knew it or as the province it joined in 2025.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from archive.units import portals_in_province, province_2025
from archive.vietnamese import fold_word

if TYPE_CHECKING:
    import sqlite_utils

PERIOD = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
PERIOD_END = "\uffff"  # sorts after any date and time that starts with the period


class FilterError(ValueError):
    """A filter value that cannot mean anything; the message says what is expected."""


def period(value: str) -> str:
    """``2024``, ``2024-03`` or ``2024-03-05`` (surrounding spaces ignored), checked against the
    calendar; raises FilterError for anything else."""
    value = value.strip()
    match = PERIOD.fullmatch(value)
    try:
        if match is None:
            raise ValueError
        date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        raise FilterError(f"{value!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD") from None
    return value


def _name(value: str | None) -> str | None:
    return unicodedata.normalize("NFC", value).strip() if value else None


@dataclass(frozen=True)
class Filters:
    """Articles of these portals, of portals of this province or district, published in this
    period, of this category, from captures of these sources. An empty filter keeps
    everything."""

    portals: tuple[str, ...] = ()
    province: str | None = None
    district: str | None = None
    since: str | None = None  # YYYY[-MM[-DD]]: from the start of that period
    until: str | None = None  # YYYY[-MM[-DD]]: to the end of that period
    category: str | None = None
    sources: tuple[str, ...] = ()  # where the capture came from: live, ia, cc, an archive

    def __post_init__(self) -> None:
        # Bad values are refused when the filters are made, before any work starts.
        object.__setattr__(self, "portals", tuple(self.portals))
        object.__setattr__(self, "sources", tuple(self.sources))
        for name in ("province", "district", "category"):
            object.__setattr__(self, name, _name(getattr(self, name)))
        for name in ("since", "until"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, period(getattr(self, name)))

    def active(self) -> dict[str, Any]:
        """The filters set, by name (as a datasheet records them)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()
                if v not in (None, ())}

    def check(self, db: sqlite_utils.Database) -> None:
        """Refuse a portal, province or district the archive has no portal of (it would
        select nothing, silently), naming the close ones it has."""
        if self.portals:
            known = [p for (p,) in db.execute("select id from portals")]
            for portal in self.portals:
                if portal not in known:
                    raise FilterError(_unknown("portal", portal, known))
        if self.province and not portals_in_province(db, self.province):
            provinces = {p for (p,) in db.execute("select distinct province from portals")
                         if p}
            known = provinces | {p for p in map(province_2025, provinces) if p}
            raise FilterError(_unknown("province", self.province, known))
        if self.district:
            known = {d for (d,) in db.execute("select distinct district from portals") if d}
            if not any(_name(d).casefold() == self.district.casefold() for d in known):
                raise FilterError(_unknown("district", self.district, known))

    def sql(self, db: sqlite_utils.Database) -> tuple[str, list[Any]]:
        """The condition on ``articles a`` that keeps the filtered articles (``1`` when there
        is no filter), and its parameters. ``db`` tells which portals a province covers."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.portals:
            clauses.append(f"a.portal in ({', '.join('?' * len(self.portals))})")
            params += self.portals
        if self.province:
            covered = portals_in_province(db, self.province)
            clauses.append(f"a.portal in ({', '.join('?' * len(covered))})")
            params += covered
        if self.district:
            clauses.append("a.portal in (select id from portals where district = ? "
                           "collate nocase)")
            params.append(self.district)
        if self.since:
            clauses.append("a.published >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("a.published <= ?")
            params.append(self.until + PERIOD_END)
        if self.category:
            clauses.append("a.category = ? collate nocase")
            params.append(self.category)
        if self.sources:
            clauses.append(f"a.source in ({', '.join('?' * len(self.sources))})")
            params += self.sources
        return " and ".join(clauses) or "1", params


def _unknown(kind: str, value: str, known: Any) -> str:
    """``no portal 'x' in this archive``, and the known names closest to it (diacritics and
    case aside), or all of them when they are few."""
    by_key = {fold_word(k): k for k in known}
    close = difflib.get_close_matches(fold_word(value), list(by_key), n=3, cutoff=0.6)
    message = f"no {kind} {value!r} in this archive"
    if close:
        return message + f": did you mean {' or '.join(repr(by_key[c]) for c in close)}?"
    if not by_key:
        return message + " (it has no portal yet)"
    names = sorted(by_key.values())
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return message + f" (it has {shown})"
