"""Vietnam's provinces: the province a pre-2025 province belongs to since the reform.

On 1 July 2025 the 63 provinces were merged into 34 (Resolution 202/2025/QH15). The mapping is
small fixed data, shipped in ``archive/provinces.toml`` with each province's government domain:
read here, at the first province named, in a millisecond. ``tests/test_units.py`` holds it
against the ``vietnamadminunits`` package (its 63 and 34 unit lists and merger table), which is
not imported here: it loads geopy, shapely and aiohttp for its address parser (half a second)
that every crawl and search would pay.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.vietnamese import fold_word

if TYPE_CHECKING:
    import sqlite_utils

PROVINCES_FILE = Path(__file__).with_name("provinces.toml")
PRE_2025, POST_2025 = "pre-2025", "2025"  # the ``era`` of an entry
# Names are written with their unit type in official texts; portals and analysts often omit it.
UNIT_PREFIX = re.compile(r"^(tỉnh|tinh|thành phố|thanh pho|tp\.?)\s+", re.IGNORECASE)


def short_name(name: str) -> str:
    """``Thành phố Huế`` -> ``Huế``: a province's name without its unit type."""
    return UNIT_PREFIX.sub("", unicodedata.normalize("NFC", name).strip())


def province_key(name: str) -> str:
    """How a province name is looked up in the index: no unit type, no diacritics, no case."""
    return fold_word(short_name(name))


def match_key(name: str) -> str:
    """How a name is matched against the shipped tables: as ``province_key``, without spaces
    or hyphens either (``Bà Rịa - Vũng Tàu`` is ``ba ria-vung tau``)."""
    return province_key(name).replace(" ", "").replace("-", "")


@lru_cache(maxsize=1)
def provinces() -> tuple[dict[str, Any], ...]:
    """The shipped provinces (``provinces.toml``): 63 of era ``pre-2025`` and 34 of era
    ``2025``, each with its ``domain``; a 2025 one lists the provinces ``merged_from``."""
    return tuple(tomllib.loads(PROVINCES_FILE.read_text(encoding="utf-8"))["province"])


def names(entry: dict[str, Any]) -> list[str]:
    """The names a province answers to: its own and its aliases."""
    return [entry["name"], *entry.get("aliases", ())]


@lru_cache(maxsize=1)
def successors() -> dict[str, str]:
    """Match key of every province name, pre-2025 or 2025 -> the 2025 province it is part of."""
    before = {e["name"]: e for e in provinces() if e["era"] == PRE_2025}
    table: dict[str, str] = {}
    for entry in provinces():
        if entry["era"] != POST_2025:
            continue
        for name in names(entry) + [n for old in entry["merged_from"]
                                    for n in names(before[old])]:
            table[match_key(name)] = entry["name"]
    return table


def province_2025(province: str | None) -> str | None:
    """The post-2025 province a pre-2025 province (or a current one) belongs to, or None when
    the name is not a known province."""
    if not province or not province.strip():
        return None
    return successors().get(match_key(province))


def province_keys(province: str | None) -> set[str]:
    """The names a portal of ``province`` answers to: that province, and the one it joined
    in 2025 (kept in the index's ``portal_provinces``, so that no search reads the table)."""
    if not province or not province.strip():
        return set()
    return {province_key(province)} | ({province_key(p)} if (p := province_2025(province))
                                       else set())


def portals_in_province(db: sqlite_utils.Database, province: str) -> list[str]:
    """Ids of the portals whose province, as the portal knew it or the one it joined in 2025,
    is ``province`` (with or without its unit type and diacritics)."""
    return [portal for (portal,) in db.execute(
        "select portal from portal_provinces where name = ? order by portal",
        [province_key(province)])]
